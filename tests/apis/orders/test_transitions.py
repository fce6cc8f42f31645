"""The order state machine under races, on SQLite and PostgreSQL: every transition is an update conditional
on the status it was read in, so of two racing changes exactly one commits (and publishes), and the
other is a 409.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from apis.orders import service
from apis.orders.app import MIGRATIONS
from apis.orders.models import Order, OrderItem, OrderStatusChange
from contracts.orders import OrderStatus, PaymentMethod, SagaReport
from kit import db
from kit.auth.principal import Principal
from kit.errors import Conflict
from kit.outbox import OutboxMessage
from tests.support import BOTH_DATABASES, scratch_engine

ROUNDS = 10
CUSTOMER = Principal("u-ann", "ann@example.com", "Ann", "Customer", frozenset({"read:my-orders"}))
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(params=BOTH_DATABASES)
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sessions]:
    async with scratch_engine(request.param, tmp_path, MIGRATIONS) as engine:
        yield db.session_factory(engine)


async def an_order(sessions: Sessions, status: OrderStatus) -> str:
    order = Order(
        user_id=CUSTOMER.id,
        phone="0612345678",
        status=status,
        payment_method=PaymentMethod.CREDIT_CARD,
        shipping_address={"city": "Lyon"},
        total_amount=Decimal("25.00"),
        display_total_amount=Decimal("25.00"),
        idempotency_key=str(uuid.uuid4()),
    )
    async with sessions() as session:
        session.add(order)
        session.add(
            OrderItem(
                order_id=order.id,
                product_id="p1",
                variant_id="v1",
                product_name={"en": "Shoe"},
                variant_attributes={},
                sku="SHOE-1",
                price_at_time_of_order=Decimal("25.00"),
                quantity=1,
            )
        )
        await session.commit()
    return order.id


async def status_of(sessions: Sessions, order_id: str) -> Order:
    async with sessions() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return order


async def outbox_of(sessions: Sessions, order_id: str) -> list[str]:
    """What the order's changes queued: event types, `cancel` for the saga's cancel signal (sent with-start)
    and `order_status:<status>` for the signals that keep its search attribute current.
    """
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(OutboxMessage)
            .where(col(OutboxMessage.key).in_([order_id, f"order-{order_id}"]))
            .order_by(col(OutboxMessage.seq))
        )
        return [_queued(m) for m in rows]


def _queued(message: OutboxMessage) -> str:
    if message.kind == "event":
        return str(message.body["event"]["type"])
    if message.kind == "signal":
        return ":".join([message.body["signal"], *message.body["args"]])
    return str(message.body["signal"])


SHIPPED = ["ORDER_SHIPPED", "order_status:SHIPPED"]  # what shipping queues
CANCELLING = ["order_status:CANCELLING", "cancel"]  # what winning a cancellation queues


async def ship(sessions: Sessions, order_id: str) -> Order:
    async with sessions() as session:
        return await service.staff_set_status(session, order_id, OrderStatus.SHIPPED)


async def cancel(sessions: Sessions, order_id: str) -> None:
    async with sessions() as session:
        await service.request_cancel(session, order_id, CUSTOMER, None)


async def report(sessions: Sessions, order_id: str, **fields: Any) -> None:
    async with sessions() as session:
        await service.saga_report(session, order_id, SagaReport.model_validate(fields))


async def race(*actors: Awaitable[Any]) -> tuple[list[Any], list[BaseException]]:
    """Run the actors at once; their results and their refusals."""
    outcomes = await asyncio.gather(*actors, return_exceptions=True)
    refusals = [o for o in outcomes if isinstance(o, BaseException)]
    return [o for o in outcomes if not isinstance(o, BaseException)], refusals


async def test_shipping_and_cancelling_a_paid_order_at_once_only_one_wins(sessions: Sessions) -> None:
    for _ in range(ROUNDS):
        order_id = await an_order(sessions, OrderStatus.PAID)
        wins, refusals = await race(ship(sessions, order_id), cancel(sessions, order_id))
        assert len(wins) == 1, refusals
        assert [type(r).__name__ for r in refusals] in (["InvalidTransition"], ["NotCancellable"])
        final = (await status_of(sessions, order_id)).status
        assert final in (OrderStatus.SHIPPED, OrderStatus.CANCELLING)
        queued = await outbox_of(sessions, order_id)
        assert queued == (SHIPPED if final == OrderStatus.SHIPPED else CANCELLING)


async def test_two_staff_requests_ship_an_order_once(sessions: Sessions) -> None:
    for _ in range(ROUNDS):
        order_id = await an_order(sessions, OrderStatus.PAID)
        wins, refusals = await race(ship(sessions, order_id), ship(sessions, order_id))
        assert len(wins) == 1, refusals
        assert [type(r).__name__ for r in refusals] == ["InvalidTransition"]
        assert await outbox_of(sessions, order_id) == SHIPPED


async def test_two_cancellations_cancel_once(sessions: Sessions) -> None:
    for _ in range(ROUNDS):
        order_id = await an_order(sessions, OrderStatus.CONFIRMED)
        wins, refusals = await race(cancel(sessions, order_id), cancel(sessions, order_id))
        assert len(wins) == 1, refusals
        assert [getattr(r, "code", r) for r in refusals] == ["OrderNotCancellable"]
        assert await outbox_of(sessions, order_id) == CANCELLING


async def test_a_placement_reported_after_a_cancellation_won_is_told_to_unwind(sessions: Sessions) -> None:
    order_id = await an_order(sessions, OrderStatus.PENDING)
    await cancel(sessions, order_id)
    with pytest.raises(Conflict) as refused:
        await report(sessions, order_id, status="PAID", transactionId="txn_1")
    assert refused.value.code == "OrderCancelling"
    await report(sessions, order_id, status="CANCELLED")
    order = await status_of(sessions, order_id)
    assert (order.status, order.failure_reason) == (OrderStatus.CANCELLED, "Cancelled by the customer")
    assert await outbox_of(sessions, order_id) == [*CANCELLING, "ORDER_CANCELLED"]


async def test_a_cancelling_order_does_not_ship(sessions: Sessions) -> None:
    order_id = await an_order(sessions, OrderStatus.PAID)
    await cancel(sessions, order_id)
    with pytest.raises(Conflict) as refused:
        await ship(sessions, order_id)
    assert refused.value.code == "InvalidStatusTransition"
    assert (await status_of(sessions, order_id)).status == OrderStatus.CANCELLING


async def test_a_cancellation_racing_the_saga_always_wins_the_order(sessions: Sessions) -> None:
    """Cancellable from PENDING and from PAID: whoever commits first, the order ends CANCELLING, and the
    saga hears it (refused as OrderCancelling when it reports second).
    """
    for _ in range(ROUNDS):
        order_id = await an_order(sessions, OrderStatus.PENDING)
        placed = report(sessions, order_id, status="PAID", transactionId="txn_1")
        _, refusals = await race(placed, cancel(sessions, order_id))
        final = (await status_of(sessions, order_id)).status
        queued = await outbox_of(sessions, order_id)
        assert final == OrderStatus.CANCELLING
        if refusals:
            assert [getattr(r, "code", r) for r in refusals] == ["OrderCancelling"]
            assert queued == CANCELLING
        else:
            assert queued == ["ORDER_CREATED", *CANCELLING]


async def test_parked_compensations_stay_on_the_order_until_they_succeed(sessions: Sessions) -> None:
    order_id = await an_order(sessions, OrderStatus.PAID)
    await cancel(sessions, order_id)
    parked = [{"step": "refunding the payment", "error": "refunds are down"}]
    await report(sessions, order_id, status="CANCELLED", parked=parked)
    assert (await status_of(sessions, order_id)).parked_compensations == parked
    await report(sessions, order_id, status="CANCELLED")
    order = await status_of(sessions, order_id)
    assert (order.status, order.parked_compensations) == (OrderStatus.CANCELLED, None)
    assert await outbox_of(sessions, order_id) == [*CANCELLING, "ORDER_CANCELLED"]


async def test_every_status_move_is_kept_for_the_timeline_and_a_repeated_report_is_not(
    sessions: Sessions,
) -> None:
    order_id = await an_order(sessions, OrderStatus.PENDING)
    await report(sessions, order_id, status="PAID", transactionId="txn_1")
    await report(sessions, order_id, status="PAID", transactionId="txn_1")
    await cancel(sessions, order_id)
    with pytest.raises(Conflict):
        await ship(sessions, order_id)
    await report(sessions, order_id, status="CANCELLED")
    async with sessions() as session:
        changes = (
            await session.scalars(
                sa.select(OrderStatusChange)
                .where(col(OrderStatusChange.order_id) == order_id)
                .order_by(col(OrderStatusChange.at))
            )
        ).all()
    assert [(c.previous, c.status, c.reason) for c in changes] == [
        (OrderStatus.PENDING, OrderStatus.PAID, None),
        (OrderStatus.PAID, OrderStatus.CANCELLING, "Cancelled by the customer"),
        (OrderStatus.CANCELLING, OrderStatus.CANCELLED, None),
    ]
