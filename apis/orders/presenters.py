"""Orders as clients see them: the seed's shape, product names in the caller's language, customer fields
from the local copy of the user.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from apis.orders.models import CustomerCopy, Order, OrderItem
from apis.orders.schemas import OrderItemRead, OrderRead
from apis.orders.status import CANCELLABLE

LANGUAGES = ("en", "fr", "ar")


def language(accept_language: str | None) -> str:
    """The first language of `Accept-Language`, cut to two letters (`fr-FR` -> `fr`), else English."""
    first = (accept_language or "").split(",")[0].strip()[:2].lower()
    return first if first in LANGUAGES else "en"


def localise(value: Any, lang: str) -> Any:
    if isinstance(value, dict):
        return value.get(lang) or value.get("en") or next(iter(value.values()), None)
    return value


async def present(session: AsyncSession, orders: list[Order], lang: str = "en") -> list[OrderRead]:
    """Orders with their items and customer fields, in two queries whatever their number."""
    ids = [order.id for order in orders]
    items: dict[str, list[OrderItem]] = {order_id: [] for order_id in ids}
    for item in (await session.scalars(select(OrderItem).where(col(OrderItem.order_id).in_(ids)))).all():
        items[item.order_id].append(item)
    user_ids = {order.user_id for order in orders if order.user_id}
    customers = (
        {
            c.id: c
            for c in (
                await session.scalars(select(CustomerCopy).where(col(CustomerCopy.id).in_(user_ids)))
            ).all()
        }
        if user_ids
        else {}
    )
    return [_read(order, items[order.id], customers.get(order.user_id or ""), lang) for order in orders]


async def present_one(session: AsyncSession, order: Order, lang: str = "en") -> OrderRead:
    return (await present(session, [order], lang))[0]


def _read(order: Order, items: list[OrderItem], customer: CustomerCopy | None, lang: str) -> OrderRead:
    return OrderRead.model_validate(
        {
            **order.model_dump(warnings=False),
            "exchange_rate_at_purchase": str(order.exchange_rate_at_purchase),
            "items": [
                OrderItemRead.model_validate(
                    {**item.model_dump(warnings=False), "product_name": localise(item.product_name, lang)}
                )
                for item in items
            ],
            "is_cancellable": order.status in CANCELLABLE,
            "is_returnable": order.status == "DELIVERED",
            "customer_name": (customer.name if customer else None) or order.guest_name or "Guest",
            "customer_email": (customer.email if customer else None) or order.guest_email,
            "customer_avatar": customer.profile_image if customer else None,
        }
    )
