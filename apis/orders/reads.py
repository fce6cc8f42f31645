"""What the orders GETs answer: an order if the caller may see it, the filtered and sorted lists, and
orders as clients see them (the seed's shape, product names in the caller's language, customer fields from
the local copy of the user).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from apis.orders import returns, rules, timeline
from apis.orders.errors import OrderNotFound
from apis.orders.models import CustomerCopy, Order, OrderItem, OrderStatusChange
from apis.orders.schemas import OrderRead, OrderTimeline, ReturnRead, TimelineEntry
from apis.orders.views import customer_fields, customers_of, item_read
from contracts.currencies import rate_text, rounded
from contracts.orders import OrderStatus, PaymentMethod
from kit.auth.principal import Principal
from kit.db import now
from kit.errors import Unavailable
from kit.schemas import Pagination
from workflows import place_order as saga

LANGUAGES = ("en", "fr", "ar")
HISTORY_TIMEOUT = timedelta(seconds=5)  # a timeline waits no longer for the saga's history
SORTABLE = {
    "createdAt": Order.created_at,
    "updatedAt": Order.updated_at,
    "totalAmount": Order.total_amount,
    "status": Order.status,
}


async def get_order(
    session: AsyncSession, order_id: str, caller: Principal | None, token: str | None = None
) -> Order:
    """The order if the caller may see it; otherwise, as if it did not exist."""
    order = await session.get(Order, order_id)
    if order is None or not rules.may_read(order, caller, token):
        raise OrderNotFound(order_id)
    return order


async def guest_lookup(session: AsyncSession, order_id: str, email: str | None, token: str | None) -> Order:
    order = await session.get(Order, order_id)
    if order is None or order.user_id is not None:
        raise OrderNotFound(order_id)
    if not (rules.guest_token_matches(order, token) or (email and order.guest_email == email)):
        raise OrderNotFound(order_id)
    return order


async def list_orders(
    session: AsyncSession,
    *,
    page: int,
    limit: int,
    user_id: str | None = None,
    status_is: OrderStatus | None = None,
    payment_method: PaymentMethod | None = None,
    search: str | None = None,
    sort_by: str = "createdAt",
    descending: bool = True,
) -> tuple[list[Order], Pagination]:
    query = select(Order)
    if user_id is not None:
        query = query.where(Order.user_id == user_id)
    if status_is is not None:
        query = query.where(Order.status == status_is)
    if payment_method is not None:
        query = query.where(Order.payment_method == payment_method)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            or_(
                col(Order.id).ilike(pattern),
                col(Order.guest_email).ilike(pattern),
                col(Order.guest_name).ilike(pattern),
                col(Order.phone).ilike(pattern),
            )
        )
    total = await session.scalar(select(sa.func.count()).select_from(query.subquery())) or 0
    column = col(SORTABLE[sort_by])
    query = query.order_by(column.desc() if descending else column.asc(), col(Order.id))
    orders = (await session.scalars(query.offset((page - 1) * limit).limit(limit))).all()
    return list(orders), Pagination.of(total, page, limit)


async def order_timeline(
    session: AsyncSession, temporal: Callable[[], Awaitable[Client]], order: Order
) -> OrderTimeline:
    """The order's story: its status changes, then (with no connection held) its saga's history."""
    changes = (
        await session.scalars(
            select(OrderStatusChange)
            .where(col(OrderStatusChange.order_id) == order.id)
            .order_by(col(OrderStatusChange.at))
        )
    ).all()
    told = OrderTimeline(
        order_id=order.id,
        status=order.status,
        workflow_id=saga.workflow_id(order.id),
        entries=timeline.from_changes(order, changes),
    )
    await session.rollback()  # the connection goes back to the pool while Temporal answers
    saga_entries = await _saga_story(temporal, told.workflow_id)
    return told.model_copy(update={"entries": timeline.merged(told.entries, saga_entries)})


async def _saga_story(temporal: Callable[[], Awaitable[Client]], workflow_id: str) -> list[TimelineEntry]:
    """The saga's side of the story; when its history cannot be read, a note saying why."""
    try:
        handle = (await temporal()).get_workflow_handle(workflow_id)
        history = await handle.fetch_history(rpc_timeout=HISTORY_TIMEOUT)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            why = "its saga has not started yet, or Temporal no longer keeps its history"
            return [timeline.note(now(), f"No workflow history: {why}")]
        return [timeline.note(now(), f"The workflow history could not be read: {error.message}")]
    except Unavailable as error:
        return [timeline.note(now(), f"The workflow history could not be read: {error}")]
    return timeline.from_history(history.events)


def language(accept_language: str | None) -> str:
    """The first language of `Accept-Language`, cut to two letters (`fr-FR` -> `fr`), else English."""
    first = (accept_language or "").split(",")[0].strip()[:2].lower()
    return first if first in LANGUAGES else "en"


async def present(session: AsyncSession, orders: list[Order], lang: str = "en") -> list[OrderRead]:
    """Orders with their items, customer fields and returns, in the same few queries whatever their number."""
    ids = [order.id for order in orders]
    items: dict[str, list[OrderItem]] = {order_id: [] for order_id in ids}
    for item in (await session.scalars(select(OrderItem).where(col(OrderItem.order_id).in_(ids)))).all():
        items[item.order_id].append(item)
    customers = await customers_of(session, orders)
    of_orders = await returns.of_orders(session, orders, customers, lang)
    return [
        _read(order, items[order.id], customers.get(order.user_id or ""), of_orders[order.id], lang)
        for order in orders
    ]


async def present_one(session: AsyncSession, order: Order, lang: str = "en") -> OrderRead:
    return (await present(session, [order], lang))[0]


async def event_payload(session: AsyncSession, order: Order) -> dict[str, Any]:
    """The order as its events carry it: as read (English names, no guest token), each line also with its
    name in every language (`productNames`) and its `costPriceAtTimeOfOrder` (null when unknown), which
    the statistics count and no answer shows.
    """
    payload = (await present_one(session, order)).model_dump(
        mode="json", by_alias=True, exclude={"guest_token"}
    )
    items = {
        item.id: item
        for item in await session.scalars(select(OrderItem).where(col(OrderItem.order_id) == order.id))
    }
    for line in payload["items"]:
        item = items[line["id"]]
        cost = item.cost_price_at_time_of_order
        line |= {
            "productNames": item.product_name,
            "costPriceAtTimeOfOrder": None if cost is None else f"{cost:.2f}",
        }
    return payload


def _read(
    order: Order,
    items: list[OrderItem],
    customer: CustomerCopy | None,
    return_requests: list[ReturnRead],
    lang: str,
) -> OrderRead:
    """The order in the currency it was placed in, at the rate it recorded (never today's)."""
    currency = order.display_currency
    return OrderRead.model_validate(
        {
            **order.model_dump(warnings=False),
            "exchange_rate_at_purchase": rate_text(order.exchange_rate_at_purchase),
            "display_total_amount": rounded(order.display_total_amount, currency),
            "items": [item_read(item, currency, lang) for item in items],
            "is_cancellable": order.status in rules.CANCELLABLE,
            "is_returnable": order.status == "DELIVERED",
            **customer_fields(order, customer),
            "customer_avatar": customer.profile_image if customer else None,
            "return_requests": return_requests,
        }
    )


async def delivered_to(session: AsyncSession, user_id: str, product_id: str) -> bool:
    """Whether the user has a delivered order holding the product: what makes a review a verified purchase."""
    found = await session.execute(
        sa.select(col(OrderItem.id))
        .join(Order, col(Order.id) == col(OrderItem.order_id))
        .where(
            col(Order.user_id) == user_id,
            col(Order.status) == OrderStatus.DELIVERED,
            col(OrderItem.product_id) == product_id,
        )
        .limit(1)
    )
    return found.first() is not None
