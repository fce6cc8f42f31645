"""Order rules after placement: reading, listing, cancelling and status changes, each change guarded by
the state machine and published as an event in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from apis.orders import access, status
from apis.orders.errors import NotCancellable, OrderNotFound
from apis.orders.models import Order, OrderStatus, PaymentMethod
from apis.orders.placing import workflow_id
from apis.orders.presenters import present_one
from kit.auth import Principal
from kit.bus import Event
from kit.errors import BadRequest, Unavailable
from kit.outbox import record_event
from kit.schemas import Pagination

log = logging.getLogger(__name__)

ORDER_TOPIC = "order_events"
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
    if order is None or not access.may_read(order, caller, token):
        raise OrderNotFound(order_id)
    return order


async def guest_lookup(session: AsyncSession, order_id: str, email: str | None, token: str | None) -> Order:
    order = await session.get(Order, order_id)
    if order is None or order.user_id is not None:
        raise OrderNotFound(order_id)
    if not (access.guest_token_matches(order, token) or (email and order.guest_email == email)):
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


async def request_cancel(
    session: AsyncSession, temporal: Client, order_id: str, caller: Principal | None, token: str | None
) -> Order:
    """Ask the order's saga to cancel it; the saga gives back stock and money, then marks it CANCELLED."""
    order = await session.get(Order, order_id)
    if order is None or not access.may_cancel(order, caller, token):
        raise OrderNotFound(order_id)
    if order.status not in status.CANCELLABLE:
        raise NotCancellable(order.status)
    who = (
        "staff"
        if caller is not None and caller.can("update:order") and caller.id != order.user_id
        else "customer"
    )
    try:
        await temporal.get_workflow_handle(workflow_id(order_id)).signal("cancel", f"Cancelled by the {who}")
    except RPCError as refused:
        if refused.status == RPCStatusCode.NOT_FOUND:  # the saga is over: nothing left to cancel
            raise NotCancellable(order.status) from refused
        raise Unavailable(
            "Temporal did not take the cancellation; try again.", code="TemporalUnavailable"
        ) from refused
    return order


async def staff_set_status(session: AsyncSession, temporal: Client, order_id: str, new: OrderStatus) -> Order:
    """Staff move an order along fulfilment (SHIPPED, DELIVERED); the saga owns the other statuses."""
    if new == OrderStatus.CANCELLED:
        raise BadRequest(
            "Use the dedicated cancellation endpoint to cancel an order.", code="UseCancelEndpoint"
        )
    if new not in status.STAFF_SETTABLE:
        raise BadRequest(
            f"Staff cannot set status '{new}'.",
            code="StatusNotSettable",
            details=[{"field": "status", "allowed": sorted(status.STAFF_SETTABLE)}],
        )
    order = await session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id)
    await transition(session, order, new)
    await session.commit()
    if new == OrderStatus.SHIPPED:  # no longer cancellable: the saga can end
        try:
            await temporal.get_workflow_handle(workflow_id(order_id)).signal("fulfilment_started")
        except Exception as exc:  # the saga may have ended already (its cancellation window closed)
            log.info("saga not signalled", extra={"orderId": order_id, "error": repr(exc)})
    return order


async def transition(
    session: AsyncSession,
    order: Order,
    new: OrderStatus,
    *,
    reason: str | None = None,
    code: str | None = None,
    details: list[Any] | None = None,
    transaction_id: str | None = None,
) -> bool:
    """Move the order to `new` if the state machine allows it, with its event; False when already there."""
    if not status.check(order.status, new):
        return False
    order.status = new
    order.updated_at = datetime.now(UTC)
    if new == OrderStatus.FAILED or new == OrderStatus.CANCELLED:
        order.failure_reason, order.failure_code, order.failure_details = reason, code, details
    if transaction_id:
        order.payment_transaction_id = transaction_id
    session.add(order)
    await session.flush()
    payload = (await present_one(session, order)).model_dump(
        mode="json", by_alias=True, exclude={"guest_token"}
    )
    record_event(
        session,
        Event(
            type=status.EVENTS[new],
            payload=payload,
            source_service="orders",
            topic=ORDER_TOPIC,
            key=order.id,
        ),
    )
    return True
