"""Order changes after placement: cancelling and status changes, each one guarded by the state machine
(`rules`) and published as an event in the same transaction. Each change the saga does not make itself is
also signalled to it (`order_status`, through the outbox), so its OrderStatus search attribute follows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from apis.orders import placing, reads, rules
from apis.orders.errors import InvalidTransition, NotCancellable, OrderNotFound
from apis.orders.models import Order, OrderItem, OrderStatusChange
from contracts import orders as contract
from contracts.orders import OrderStatus, SagaReport
from kit.auth.principal import Principal
from kit.bus import Event
from kit.db import commit, now
from kit.errors import BadRequest
from kit.outbox import record_event, record_signal, record_workflow
from workflows import place_order as saga


async def request_cancel(
    session: AsyncSession, order_id: str, caller: Principal | None, token: str | None
) -> None:
    """Win the order for a cancellation (`-> CANCELLING`, conditional), and queue the saga's cancel signal
    in the same transaction, so neither fulfilment nor a crash can come between them. The saga then gives
    back stock and money and writes CANCELLED. Commits; holds no connection afterwards.
    """
    order = await session.get(Order, order_id)
    if order is None or not rules.may_cancel(order, caller, token):
        raise OrderNotFound(order_id)
    staff = caller is not None and caller.can("update:order") and caller.id != order.user_id
    reason = f"Cancelled by the {'staff' if staff else 'customer'}"
    if order.status not in rules.CANCELLABLE:
        raise NotCancellable(order.status)
    try:
        order, _ = await transition(
            session,
            order,
            OrderStatus.CANCELLING,
            repeat_ok=False,
            reason=reason,
            code=contract.CANCELLED_CODE,
        )
    except InvalidTransition as lost:  # another change won the order first
        raise NotCancellable(lost.current) from lost
    tell_saga(session, order_id, OrderStatus.CANCELLING)
    items = (await session.scalars(select(OrderItem).where(col(OrderItem.order_id) == order_id))).all()
    lines = {item.variant_id: item.quantity for item in items}
    record_workflow(
        session,
        placing.saga_start(order, lines, order.guest_email or "", cancel=reason),
        dedup_id=f"cancel-{order_id}",
    )
    await commit(session)


async def staff_set_status(session: AsyncSession, order_id: str, new: OrderStatus) -> Order:
    """Staff move an order along fulfilment (SHIPPED, DELIVERED); the saga owns the other statuses. Of two
    racing changes one wins and the other is a 409; a cancelling order cannot ship. Commits.
    """
    if new == OrderStatus.CANCELLED:
        raise BadRequest(
            "Use the dedicated cancellation endpoint to cancel an order.", code="UseCancelEndpoint"
        )
    if new not in rules.STAFF_SETTABLE:
        raise BadRequest(
            f"Staff cannot set status '{new}'.",
            code="StatusNotSettable",
            details=[{"field": "status", "allowed": sorted(rules.STAFF_SETTABLE)}],
        )
    order = await session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id)
    order, _ = await transition(session, order, new, repeat_ok=False)
    tell_saga(session, order_id, new)
    await commit(session)
    return order


def tell_saga(session: AsyncSession, order_id: str, status: OrderStatus) -> None:
    """Queue the saga's `order_status` signal in the change's transaction: sent once committed, never lost.
    A shipped order's saga stops waiting for a cancellation and follows the order until it is delivered;
    a saga that has ended takes nothing, and a repeat changes nothing.
    """
    signal = saga.status_changed(order_id, status)
    record_signal(session, signal, dedup_id=f"{signal.workflow_id}-{status.value.lower()}")


async def saga_report(session: AsyncSession, order_id: str, report: SagaReport) -> None:
    """What the saga reports: a status (a repeat is accepted as done) and the compensations it parked for
    an operator (kept on the order, cleared once they succeed). Commits.
    """
    order = await session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id)
    order, _ = await transition(
        session,
        order,
        report.status,
        reason=report.reason,
        code=report.code,
        details=report.details,
        transaction_id=report.transaction_id,
    )
    if order.parked_compensations != report.parked:
        await session.execute(
            sa.update(Order).where(col(Order.id) == order_id).values(parked_compensations=report.parked)
        )
    await commit(session)


async def transition(
    session: AsyncSession,
    order: Order,
    new: OrderStatus,
    *,
    repeat_ok: bool = True,
    reason: str | None = None,
    code: str | None = None,
    details: list[Any] | None = None,
    transaction_id: str | None = None,
) -> tuple[Order, bool]:
    """Move the order to `new`, with its event, by an update conditional on the status it was read in:
    of two racing changes exactly one commits, and the other is checked again against the winner's status.
    Returns the order as it now is, and False when it was already at `new` (a repeat, if `repeat_ok`).

    Call it first in its transaction: it ends the read before updating, so that on SQLite the update is
    the transaction's first statement and waits for a concurrent writer instead of failing.
    """
    order_id, current = order.id, order.status
    if not rules.check(current, new, repeat_ok=repeat_ok):
        return order, False
    values: dict[str, Any] = {"status": new, "updated_at": now()}
    if new in (OrderStatus.CANCELLING, OrderStatus.CANCELLED, OrderStatus.FAILED) and reason is not None:
        values |= {"failure_reason": reason, "failure_code": code, "failure_details": details}
    if transaction_id:
        values["payment_transaction_id"] = transaction_id
    await session.rollback()
    updated = await session.execute(
        sa.update(Order)
        .where(col(Order.id) == order_id, col(Order.status) == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(updated, "rowcount", 0) != 1:  # someone else moved it first
        await session.rollback()
        winner = await session.get(Order, order_id)
        assert winner is not None
        return await transition(
            session,
            winner,
            new,
            repeat_ok=repeat_ok,
            reason=reason,
            code=code,
            details=details,
            transaction_id=transaction_id,
        )
    session.add(
        OrderStatusChange(
            order_id=order_id, previous=current, status=new, reason=values.get("failure_reason")
        )
    )
    fresh = await session.get(Order, order_id, populate_existing=True)
    assert fresh is not None
    if new in rules.EVENTS:
        payload = await reads.event_payload(session, fresh)
        record_event(
            session,
            Event(
                type=rules.EVENTS[new],
                payload=payload,
                source_service=contract.SERVICE,
                topic=contract.ORDER_EVENTS,
                key=order_id,
            ),
        )
    return fresh, True
