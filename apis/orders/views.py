"""How an order's parts are shown, shared by the orders' and the returns' answers: a line in the caller's
language and the order's currency, and the customer's fields from the local copy of the user.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from apis.orders.models import CustomerCopy, Order, OrderItem
from apis.orders.schemas import OrderItemRead
from contracts.currencies import rounded


def localise(value: Any, lang: str) -> Any:
    if isinstance(value, dict):
        return value.get(lang) or value.get("en") or next(iter(value.values()), None)
    return value


async def customers_of(session: AsyncSession, orders: list[Order]) -> dict[str, CustomerCopy]:
    """The local copies of the orders' customers, by user id."""
    user_ids = {order.user_id for order in orders if order.user_id}
    if not user_ids:
        return {}
    found = await session.scalars(select(CustomerCopy).where(col(CustomerCopy.id).in_(user_ids)))
    return {customer.id: customer for customer in found.all()}


def item_read(item: OrderItem, currency: str, lang: str) -> OrderItemRead:
    """An order line, its product name in `lang` and its price in the order's display `currency`."""
    return OrderItemRead.model_validate(
        {
            **item.model_dump(warnings=False),
            "product_name": localise(item.product_name, lang),
            "display_price_at_time_of_order": rounded(
                item.display_price_at_time_of_order or item.price_at_time_of_order, currency
            ),
        }
    )


def customer_fields(order: Order, customer: CustomerCopy | None) -> dict[str, str | None]:
    """The seed's `customerName` (user, guest, else 'Guest') and `customerEmail` of an order."""
    return {
        "customer_name": (customer.name if customer else None) or order.guest_name or "Guest",
        "customer_email": (customer.email if customer else None) or order.guest_email,
    }
