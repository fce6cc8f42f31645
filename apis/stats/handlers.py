"""What the statistics service consumes, as its own consumer group on `auth_events` and `order_events`.

What counts (the seed counted only ORDER_PAID, which cash-on-delivery orders never reach):
- a customer, once per user id, on the day of its USER_CREATED;
- an order, once per order id, on the day of its ORDER_CREATED, which the orders service publishes when the
  saga has confirmed it (cash on delivery: stock reserved) or it is paid (card: charged). Its revenue is
  its `totalAmount` in the base currency, its expenses the sum of cost price x quantity of its lines (a line
  without a cost price adds none);
- an order cancelled or failed after it counted is withdrawn: its figures come back out of the day it
  counted on (its money was refunded or never collected). So the figures are the orders that stand;
- a completed return (RETURN_REQUEST_COMPLETED), once per return id, takes its `refundAmount` (the returned
  units at the price charged; none for a cash order) out of the revenue of the day it was completed: the
  order counted when it was sold, its refund when it came back. Its units (and their refund) come out of
  their variants' sales, so the top sellers show what was kept.

Idempotent twice over: the event's id is recorded in the transaction of its change (a redelivery does
nothing), and each contribution is keyed by the customer's or the order's id (the same fact under a new
event id, a republished ORDER_CREATED, counts once). Days are the event's own `timestamp` (set by the
service that recorded the fact, in UTC), never a date a client sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from apis.stats.models import (
    CountedOrder,
    CountedReturn,
    Customer,
    DailyFigures,
    HandledEvent,
    VariantSales,
)
from contracts import auth, orders
from contracts.stats import GROUP
from kit import db
from kit.bus import Event, EventBus
from kit.db import now

TOPICS = (auth.AUTH_EVENTS, orders.ORDER_EVENTS)
WITHDRAWING = frozenset({orders.ORDER_CANCELLED, orders.ORDER_FAILED})


_insert = db.insert


async def _first(session: AsyncSession, model: type[Any], values: dict[str, Any], key: str) -> bool:
    """Insert the row unless its key is there: True if this call inserted it."""
    inserted = await session.execute(
        _insert(session, model).values(**values).on_conflict_do_nothing(index_elements=[key])
    )
    return getattr(inserted, "rowcount", 0) == 1


async def _add_to_day(session: AsyncSession, day: date, sign: int, **amounts: Any) -> None:
    """Add (`sign` 1) or take back (-1) `amounts` of the day's figures, in one statement."""
    values = {name: sign * value for name, value in amounts.items()}
    insert = _insert(session, DailyFigures).values(
        day=day, **{"new_customers": 0, "new_orders": 0, "revenue": 0, "expenses": 0} | values
    )
    table = DailyFigures.__table__  # type: ignore[attr-defined]
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["day"], set_={name: table.c[name] + insert.excluded[name] for name in values}
        )
    )


async def _add_sales(session: AsyncSession, lines: list[dict[str, Any]], sign: int) -> None:
    table = VariantSales.__table__  # type: ignore[attr-defined]
    for line in lines:
        insert = _insert(session, VariantSales).values(
            variant_id=line["variantId"],
            product_id=line["productId"],
            product_name=line["productName"],
            variant_attributes=line["variantAttributes"],
            quantity=sign * line["quantity"],
            revenue=sign * Decimal(line["amount"]),
        )
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=["variant_id"],
                set_={
                    "quantity": table.c.quantity + insert.excluded.quantity,
                    "revenue": table.c.revenue + insert.excluded.revenue,
                }
                | (
                    {"product_name": insert.excluded.product_name} if sign > 0 else {}
                ),  # the names as last ordered
            )
        )


def _decimal(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value if value is not None else 0))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def order_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """An order event's lines as counted: variant, product, names (every language when the event has them),
    attributes, quantity, amount (price x quantity) and cost (cost price x quantity, 0 when unknown).
    """
    lines = []
    for item in order.get("items") or []:
        quantity = int(item["quantity"])
        cost = item.get("costPriceAtTimeOfOrder")
        name = item.get("productNames") or item.get("productName") or ""
        lines.append(
            {
                "variantId": str(item["variantId"]),
                "productId": str(item.get("productId") or ""),
                "productName": name if isinstance(name, dict) else {"en": str(name)},
                "variantAttributes": item.get("variantAttributes") or {},
                "quantity": quantity,
                "amount": str(_decimal(item.get("priceAtTimeOfOrder")) * quantity),
                "cost": str(_decimal(cost) * quantity),
            }
        )
    return lines


async def count_customer(session: AsyncSession, event: Event) -> None:
    user_id = str(event.payload.get("id") or event.key)
    day = event.timestamp.date()
    if await _first(session, Customer, {"user_id": user_id, "day": day}, "user_id"):
        await _add_to_day(session, day, 1, new_customers=1)


async def count_order(session: AsyncSession, event: Event) -> None:
    order_id = str(event.payload.get("id") or event.key)
    lines = order_lines(event.payload)
    revenue = _decimal(event.payload.get("totalAmount"))
    expenses = sum((Decimal(line["cost"]) for line in lines), Decimal(0))
    day = event.timestamp.date()
    row = {"order_id": order_id, "day": day, "revenue": revenue, "expenses": expenses, "lines": lines}
    if await _first(session, CountedOrder, row, "order_id"):
        await _add_to_day(session, day, 1, new_orders=1, revenue=revenue, expenses=expenses)
        await _add_sales(session, lines, 1)


async def withdraw_order(session: AsyncSession, event: Event) -> None:
    """Take a counted order's figures back out of its day; an order not counted yet never will be."""
    order_id = str(event.payload.get("id") or event.key)
    zero = {"revenue": 0, "expenses": 0, "lines": []}
    if await _first(
        session,
        CountedOrder,
        {"order_id": order_id, "day": event.timestamp.date(), "withdrawn_at": now(), **zero},
        "order_id",
    ):
        return
    counted = (
        await session.execute(
            sa.update(CountedOrder)
            .where(col(CountedOrder.order_id) == order_id, col(CountedOrder.withdrawn_at).is_(None))
            .values(withdrawn_at=now())
            .returning(
                col(CountedOrder.day),
                col(CountedOrder.revenue),
                col(CountedOrder.expenses),
                col(CountedOrder.lines),
            )
        )
    ).one_or_none()
    if counted is None:  # withdrawn already
        return
    day, revenue, expenses, lines = counted
    await _add_to_day(session, day, -1, new_orders=1, revenue=revenue, expenses=expenses)
    await _add_sales(session, lines, -1)


async def count_return(session: AsyncSession, event: Event) -> None:
    """Take a completed return's refund out of its completion day's revenue, and its units out of their
    variants' sales, once per return id.
    """
    return_id = str(event.payload.get("id") or event.key)
    refunded = _decimal(event.payload.get("refundAmount"))
    day = event.timestamp.date()
    row = {"return_id": return_id, "order_id": str(event.payload.get("orderId") or ""), "day": day}
    if not await _first(session, CountedReturn, row | {"refunded": refunded}, "return_id"):
        return
    if refunded:
        await _add_to_day(session, day, -1, revenue=refunded)
    await _take_back_units(session, returned_lines(event.payload, refunds=bool(refunded)))


def returned_lines(request: dict[str, Any], refunds: bool) -> list[dict[str, Any]]:
    """A completed return's lines as variant, quantity and the refunded amount (price x quantity when the
    return refunds, 0 for a cash order's, which refunds nothing through the shop).
    """
    lines = []
    for returned in request.get("items") or []:
        item = returned.get("orderItem") or {}
        quantity = int(returned["quantity"])
        price = _decimal(item.get("priceAtTimeOfOrder")) if refunds else Decimal(0)
        lines.append({"variantId": str(item["variantId"]), "quantity": quantity, "amount": price * quantity})
    return lines


async def _take_back_units(session: AsyncSession, lines: list[dict[str, Any]]) -> None:
    """The returned units (and their refund) out of their variants' sales; a variant never counted is left."""
    for line in lines:
        await session.execute(
            sa.update(VariantSales)
            .where(col(VariantSales.variant_id) == line["variantId"])
            .values(
                quantity=col(VariantSales.quantity) - line["quantity"],
                revenue=col(VariantSales.revenue) - line["amount"],
            )
            .execution_options(synchronize_session=False)
        )


COUNTERS: dict[str, Callable[[AsyncSession, Event], Awaitable[None]]] = {
    auth.USER_CREATED: count_customer,
    orders.ORDER_CREATED: count_order,
    orders.ORDER_CANCELLED: withdraw_order,
    orders.ORDER_FAILED: withdraw_order,
    orders.RETURN_REQUEST_COMPLETED: count_return,
}


async def apply(session: AsyncSession, event: Event) -> bool:
    """Count `event` in the caller's transaction unless its id was handled: True if it was applied."""
    counter = COUNTERS.get(event.type)
    if counter is None:
        return False
    if not await _first(session, HandledEvent, {"id": event.id, "handled_at": now()}, "id"):
        return False
    await counter(session, event)
    return True


def once(sessions: async_sessionmaker[AsyncSession]) -> Callable[[Event], Awaitable[None]]:
    """The bus handler: each event counted in one transaction with the record of its id."""

    async def handle(event: Event) -> None:
        async with sessions() as session, session.begin():
            await apply(session, event)

    return handle


def subscribe(bus: EventBus, sessions: async_sessionmaker[AsyncSession]) -> None:
    bus.subscribe(GROUP, TOPICS, once(sessions))
