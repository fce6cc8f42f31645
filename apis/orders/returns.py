"""Returns of delivered orders: requested by the order's customer (or its guest, by token), approved or
rejected by staff, completed by staff once the units are back, which starts the return's workflow
(`workflows/returns.py`: restock, refund) through the outbox in the same transaction; the workflow then
reports the return settled.

An order may have several returns; over all of them (rejected ones aside) a line never gives back more units
than were bought. Creating a return first takes the order by a conditional update (`WHERE status =
'DELIVERED'`), which serialises the returns of one order, so two racing requests cannot both pass the count.
Every status change is conditional on the status it was read in, and publishes its event (`order_events`,
keyed by the return id).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from apis.orders import rules
from apis.orders.errors import (
    GuestTokenRequired,
    InvalidReturnItem,
    InvalidReturnTransition,
    NotReturnable,
    OrderNotFound,
    ReturnNotFound,
)
from apis.orders.models import CustomerCopy, Order, OrderItem, ReturnComment, ReturnItem, ReturnRequest
from apis.orders.schemas import ReturnCommentRead, ReturnCreate, ReturnRead, ReturnUpdate
from apis.orders.views import customer_fields, customers_of, item_read
from contracts import orders as contract
from contracts.orders import RETURN_EVENTS, OrderStatus, PaymentMethod, ReturnSettled, ReturnStatus
from kit.auth.principal import Principal
from kit.bus import Event
from kit.db import commit, now
from kit.outbox import record_event, record_workflow
from kit.schemas import Pagination
from workflows import returns as workflow


async def request_return(
    session: AsyncSession,
    caller: Principal | None,
    token: str | None,
    data: ReturnCreate,
    idempotency_key: str | None,
) -> tuple[ReturnRequest, bool]:
    """The return this request asks for, and whether it is new (False: the one its Idempotency-Key made)."""
    if caller is None and not token:
        raise GuestTokenRequired()
    scope = caller.id if caller is not None else f"guest:{data.order_id}"
    key = f"{scope}:key:{idempotency_key}" if idempotency_key else None
    if key and (earlier := await with_key(session, ReturnRequest, key)):
        return earlier, False
    await session.rollback()  # the order's lock is the transaction's first statement (SQLite: one writer)
    taken = await session.execute(
        sa.update(Order)
        .where(col(Order.id) == data.order_id, col(Order.status) == OrderStatus.DELIVERED)
        .values(status=col(Order.status))
        .execution_options(synchronize_session=False)
    )
    order = await session.get(Order, data.order_id)
    if order is None or not rules.may_return(order, caller, token):
        await session.rollback()
        raise OrderNotFound(data.order_id)
    if getattr(taken, "rowcount", 0) != 1:
        status = order.status
        await session.rollback()
        raise NotReturnable(status)
    try:
        request = await _write_return(session, order, data, key)
    except InvalidReturnItem:
        await session.rollback()
        raise
    return await commit_or_first(session, request, key)


Keyed = TypeVar("Keyed", ReturnRequest, ReturnComment)


async def commit_or_first(session: AsyncSession, row: Keyed, key: str | None) -> tuple[Keyed, bool]:
    """Commit the new `row`, or, when a request with the same Idempotency-Key won the race, answer its row
    (False: not new).
    """
    try:
        await commit(session)
    except IntegrityError:
        await session.rollback()
        if key and (earlier := await with_key(session, type(row), key)):
            return earlier, False
        raise
    return row, True


async def _write_return(
    session: AsyncSession, order: Order, data: ReturnCreate, key: str | None
) -> ReturnRequest:
    """Check each line against what the order has left to return, then write the return and its event."""
    lines = {
        item.id: item
        for item in (await session.scalars(select(OrderItem).where(col(OrderItem.order_id) == order.id)))
    }
    returned = await _returned(session, order.id)
    seen: set[str] = set()
    for line in data.items:
        item = lines.get(line.order_item_id)
        if item is None:
            raise InvalidReturnItem(line.order_item_id, "not a line of this order")
        if line.order_item_id in seen:
            raise InvalidReturnItem(line.order_item_id, "named twice")
        seen.add(line.order_item_id)
        left = item.quantity - returned.get(item.id, 0)
        if line.quantity > left:
            raise InvalidReturnItem(
                line.order_item_id,
                f"{left} of {item.quantity} left to return",
                bought=item.quantity,
                left=left,
            )
    request = ReturnRequest(
        order_id=order.id, reason=data.reason, image_urls=data.image_urls, idempotency_key=key
    )
    session.add(request)
    await session.flush()  # before its lines: no ORM relationship orders the inserts
    session.add_all(
        ReturnItem(return_request_id=request.id, order_item_id=line.order_item_id, quantity=line.quantity)
        for line in data.items
    )
    await session.flush()
    await publish(session, request)
    return request


async def _returned(session: AsyncSession, order_id: str) -> dict[str, int]:
    """Units of each line of the order its returns give back, rejected returns aside."""
    rows = await session.execute(
        sa.select(col(ReturnItem.order_item_id), sa.func.sum(col(ReturnItem.quantity)))
        .join(ReturnRequest, col(ReturnRequest.id) == col(ReturnItem.return_request_id))
        .where(col(ReturnRequest.order_id) == order_id, col(ReturnRequest.status) != ReturnStatus.REJECTED)
        .group_by(col(ReturnItem.order_item_id))
    )
    return {item_id: int(total) for item_id, total in rows}


async def with_key(session: AsyncSession, model: type[Keyed], key: str) -> Keyed | None:
    """The row an earlier request with this (scoped) Idempotency-Key made."""
    found: Keyed | None = await session.scalar(select(model).where(col(model.idempotency_key) == key))
    return found


async def staff_update(session: AsyncSession, return_id: str, data: ReturnUpdate) -> ReturnRequest:
    """Move the return along its state machine, conditionally on the status it was read in; the status it
    already has is a repeat that changes nothing (a second COMPLETED starts nothing). COMPLETED queues the
    return's workflow in the same transaction. Commits.
    """
    request = await session.get(ReturnRequest, return_id)
    if request is None:
        raise ReturnNotFound(return_id)
    current = request.status
    if not rules.check_return(current, data.status):
        return request
    await session.rollback()
    updated = await session.execute(
        sa.update(ReturnRequest)
        .where(col(ReturnRequest.id) == return_id, col(ReturnRequest.status) == current)
        .values(status=data.status, admin_comments=data.admin_comments, updated_at=now())
        .execution_options(synchronize_session=False)
    )
    if getattr(updated, "rowcount", 0) != 1:  # another change won: judged again against its status
        await session.rollback()
        return await staff_update(session, return_id, data)
    request = await session.get(ReturnRequest, return_id, populate_existing=True)
    assert request is not None
    await publish(session, request)
    if data.status == ReturnStatus.COMPLETED:
        record_workflow(session, workflow.start(await _workflow_input(session, request)))
    await commit(session)
    return request


async def _workflow_input(session: AsyncSession, request: ReturnRequest) -> workflow.ReturnInput:
    """What the workflow restocks, and what it refunds: a card order's returned lines at their price."""
    order = await session.get(Order, request.order_id)
    assert order is not None
    rows = await session.execute(
        sa.select(ReturnItem, OrderItem)
        .join(OrderItem, col(OrderItem.id) == col(ReturnItem.order_item_id))
        .where(col(ReturnItem.return_request_id) == request.id)
        .order_by(col(ReturnItem.order_item_id))
    )
    pairs = [(returned, item) for returned, item in rows]
    lines = [
        workflow.ReturnLine(order_item_id=item.id, variant_id=item.variant_id, quantity=returned.quantity)
        for returned, item in pairs
    ]
    amount = refund_amount(order, [(returned.quantity, item) for returned, item in pairs])
    return workflow.ReturnInput(
        return_id=request.id,
        order_id=order.id,
        lines=lines,
        refund_amount=None if amount is None else f"{amount:.2f}",
    )


def refund_amount(order: Order, lines: list[tuple[int, OrderItem]]) -> Decimal | None:
    """The returned units at the price charged, for a card order that was charged; None otherwise."""
    if order.payment_method != PaymentMethod.CREDIT_CARD or not order.payment_transaction_id:
        return None
    return sum((item.price_at_time_of_order * quantity for quantity, item in lines), Decimal(0))


async def settle(session: AsyncSession, return_id: str, settled: ReturnSettled) -> None:
    """The workflow restocked and refunded: recorded once, on a completed return (a repeat is accepted)."""
    await session.rollback()
    updated = await session.execute(
        sa.update(ReturnRequest)
        .where(
            col(ReturnRequest.id) == return_id,
            col(ReturnRequest.status) == ReturnStatus.COMPLETED,
            col(ReturnRequest.settled_at).is_(None),
        )
        .values(
            restocked_units=settled.restocked_units,
            refunded_amount=None if settled.refunded_amount is None else Decimal(settled.refunded_amount),
            refund_id=settled.refund_id,
            settled_at=now(),
            updated_at=now(),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(updated, "rowcount", 0) == 1:
        await commit(session)
        return
    await session.rollback()
    request = await session.get(ReturnRequest, return_id)
    if request is None:
        raise ReturnNotFound(return_id)
    if request.settled_at is None:
        raise InvalidReturnTransition(request.status, "SETTLED")


async def publish(
    session: AsyncSession, request: ReturnRequest, kind: str | None = None, **extra: Any
) -> None:
    """The return's event (for its status, unless `kind`), in the change's transaction (the notifications
    mail it); `extra` joins the payload.
    """
    payload = (await present(session, [request]))[0].model_dump(mode="json", by_alias=True) | extra
    record_event(
        session,
        Event(
            type=kind or RETURN_EVENTS[request.status],
            payload=payload,
            source_service=contract.SERVICE,
            topic=contract.ORDER_EVENTS,
            key=request.id,
        ),
    )


# Reads
async def get_return(
    session: AsyncSession, return_id: str, caller: Principal | None, token: str | None
) -> ReturnRequest:
    """The return if the caller may see it (its customer, its guest, staff holding `read:returns`)."""
    request = await session.get(ReturnRequest, return_id)
    order = None if request is None else await session.get(Order, request.order_id)
    if request is None or order is None or not rules.may_read_return(order, caller, token):
        raise ReturnNotFound(return_id)
    return request


async def list_returns(
    session: AsyncSession,
    *,
    page: int,
    limit: int,
    user_id: str | None = None,
    status_is: ReturnStatus | None = None,
    search: str | None = None,
) -> tuple[list[ReturnRequest], Pagination]:
    """Returns newest first: a customer's own (`user_id`), or any (staff), by status and id or order id."""
    query = select(ReturnRequest)
    if user_id is not None:
        query = query.join(Order, col(Order.id) == col(ReturnRequest.order_id)).where(
            Order.user_id == user_id
        )
    if status_is is not None:
        query = query.where(ReturnRequest.status == status_is)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            sa.or_(col(ReturnRequest.id).ilike(pattern), col(ReturnRequest.order_id).ilike(pattern))
        )
    total = await session.scalar(select(sa.func.count()).select_from(query.subquery())) or 0
    query = query.order_by(col(ReturnRequest.created_at).desc(), col(ReturnRequest.id))
    found = (await session.scalars(query.offset((page - 1) * limit).limit(limit))).all()
    return list(found), Pagination.of(total, page, limit)


async def of_orders(
    session: AsyncSession, orders: list[Order], customers: dict[str, CustomerCopy], lang: str
) -> dict[str, list[ReturnRead]]:
    """The returns of each of these orders, oldest first, in one query for all of them (plus their lines'
    and comments'), the orders and customers being known already.
    """
    found = await session.scalars(
        select(ReturnRequest)
        .where(col(ReturnRequest.order_id).in_([order.id for order in orders]))
        .order_by(col(ReturnRequest.created_at), col(ReturnRequest.id))
    )
    requests = list(found.all())
    by_order: dict[str, list[ReturnRead]] = {order.id: [] for order in orders}
    if requests:
        known = {order.id: order for order in orders}
        for read in await present(session, requests, lang, orders=known, customers=customers):
            by_order[read.order_id].append(read)
    return by_order


async def present(
    session: AsyncSession,
    requests: list[ReturnRequest],
    lang: str = "en",
    *,
    orders: dict[str, Order] | None = None,
    customers: dict[str, CustomerCopy] | None = None,
) -> list[ReturnRead]:
    """Returns in the seed's shape: each line with its order line, the comments, the order's customer and
    phone (`orders` and `customers` when the caller has them already).
    """
    ids = [request.id for request in requests]
    if orders is None:
        orders = {
            order.id: order
            for order in await session.scalars(
                select(Order).where(col(Order.id).in_({request.order_id for request in requests}))
            )
        }
    rows = await session.execute(
        sa.select(ReturnItem, OrderItem)
        .join(OrderItem, col(OrderItem.id) == col(ReturnItem.order_item_id))
        .where(col(ReturnItem.return_request_id).in_(ids))
        .order_by(col(ReturnItem.order_item_id))
    )
    lines: dict[str, list[tuple[ReturnItem, OrderItem]]] = {request_id: [] for request_id in ids}
    for returned, item in rows:
        lines[returned.return_request_id].append((returned, item))
    comments: dict[str, list[ReturnCommentRead]] = {request_id: [] for request_id in ids}
    for comment in await session.scalars(
        select(ReturnComment)
        .where(col(ReturnComment.return_request_id).in_(ids))
        .order_by(col(ReturnComment.created_at), col(ReturnComment.id))
    ):
        comments[comment.return_request_id].append(ReturnCommentRead.model_validate(comment))
    if customers is None:
        customers = await customers_of(session, list(orders.values()))
    return [
        _read(request, orders[request.order_id], lines[request.id], comments[request.id], customers, lang)
        for request in requests
    ]


def _read(
    request: ReturnRequest,
    order: Order,
    lines: list[tuple[ReturnItem, OrderItem]],
    comments: list[ReturnCommentRead],
    customers: dict[str, CustomerCopy],
    lang: str,
) -> ReturnRead:
    items = [
        {
            "id": returned.id,
            "order_item_id": item.id,
            "quantity": returned.quantity,
            "order_item": item_read(item, order.display_currency, lang),
        }
        for returned, item in lines
    ]
    return ReturnRead.model_validate(
        {
            **request.model_dump(warnings=False),
            "user_id": order.user_id,
            "items": items,
            "refund_amount": refund_amount(order, [(returned.quantity, item) for returned, item in lines]),
            "phone": order.phone,
            "comments": comments,
            **customer_fields(order, customers.get(order.user_id or "")),
        }
    )
