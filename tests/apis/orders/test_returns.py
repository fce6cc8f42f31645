"""Returns' rules, on SQLite and PostgreSQL: only a delivered order's own customer (or guest) returns it, a
line never gives back more than was bought over all the order's returns (even when two race), every status
change is conditional, and completing queues the return's workflow once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from apis.orders import returns
from apis.orders.app import MIGRATIONS
from apis.orders.errors import (
    GuestTokenRequired,
    InvalidReturnItem,
    InvalidReturnTransition,
    NotReturnable,
    OrderNotFound,
    ReturnNotFound,
)
from apis.orders.models import CustomerCopy, Order, OrderItem, ReturnRequest
from apis.orders.rules import hash_token
from apis.orders.schemas import ReturnCreate, ReturnUpdate
from contracts.orders import OrderStatus, PaymentMethod, ReturnSettled, ReturnStatus
from kit import db
from kit.auth.principal import Principal
from kit.outbox import OutboxMessage
from tests.support import BOTH_DATABASES, scratch_engine

CUSTOMER = Principal("u-ann", "ann@example.com", "Ann", "Customer", frozenset({"read:my-orders"}))
OTHER = Principal("u-bob", "bob@example.com", "Bob", "Customer", frozenset({"read:my-orders"}))
STAFF = Principal("u-sam", "sam@example.com", "Sam", "ADMIN", frozenset({"read:returns", "write:returns"}))
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(params=BOTH_DATABASES)
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sessions]:
    async with scratch_engine(request.param, tmp_path, MIGRATIONS) as engine:
        yield db.session_factory(engine)


async def an_order(
    sessions: Sessions,
    status: OrderStatus = OrderStatus.DELIVERED,
    *,
    method: PaymentMethod = PaymentMethod.CREDIT_CARD,
    guest_token: str | None = None,
) -> tuple[str, list[str]]:
    """An order of 3 shoes at 25.00 and 1 hat at 10.00; returns its id and its lines' ids."""
    order = Order(
        user_id=None if guest_token else CUSTOMER.id,
        guest_email="gus@example.com" if guest_token else None,
        guest_token_hash=hash_token(guest_token) if guest_token else None,
        phone="0612345678",
        status=status,
        payment_method=method,
        payment_transaction_id="txn_1" if method == PaymentMethod.CREDIT_CARD else None,
        shipping_address={"city": "Lyon"},
        total_amount=Decimal("85.00"),
        display_total_amount=Decimal("85.00"),
        idempotency_key=str(uuid.uuid4()),
    )
    lines = [("v-shoe", "25.00", 3), ("v-hat", "10.00", 1)]
    items = [
        OrderItem(
            order_id=order.id,
            product_id=f"p-{variant}",
            variant_id=variant,
            product_name={"en": variant},
            variant_attributes={},
            sku=variant.upper(),
            price_at_time_of_order=Decimal(price),
            quantity=quantity,
        )
        for variant, price, quantity in lines
    ]
    async with sessions() as session:
        if not guest_token and await session.get(CustomerCopy, CUSTOMER.id) is None:
            session.add(CustomerCopy(id=CUSTOMER.id, name=CUSTOMER.name, email=CUSTOMER.email))
        session.add(order)
        await session.flush()
        session.add_all(items)
        await session.commit()
    return order.id, [item.id for item in items]


def asking(order_id: str, *lines: tuple[str, int]) -> ReturnCreate:
    items = [{"orderItemId": item_id, "quantity": quantity} for item_id, quantity in lines]
    return ReturnCreate.model_validate({"orderId": order_id, "reason": "Too small", "items": items})


async def ask(
    sessions: Sessions,
    data: ReturnCreate,
    caller: Principal | None = CUSTOMER,
    token: str | None = None,
    key: str | None = None,
) -> tuple[ReturnRequest, bool]:
    async with sessions() as session:
        return await returns.request_return(session, caller, token, data, key)


async def move(sessions: Sessions, return_id: str, status: ReturnStatus, comments: str | None = None) -> Any:
    async with sessions() as session:
        request = await returns.staff_update(
            session, return_id, ReturnUpdate(status=status, admin_comments=comments)
        )
        [read] = await returns.present(session, [request])
        return read


async def queued(sessions: Sessions, return_id: str) -> list[str]:
    """What the return's changes queued: event types, and `workflow` for its workflow's start."""
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(OutboxMessage)
            .where(col(OutboxMessage.key).in_([return_id, f"return-{return_id}"]))
            .order_by(col(OutboxMessage.seq))
        )
        return [m.body["event"]["type"] if m.kind == "event" else m.kind for m in rows]


async def test_a_customer_returns_part_of_a_delivered_order_and_its_event_names_order_and_email(
    sessions: Sessions,
) -> None:
    order_id, (shoe, _) = await an_order(sessions)
    request, created = await ask(sessions, asking(order_id, (shoe, 2)))
    assert created
    assert request.status == ReturnStatus.PENDING_APPROVAL
    assert await queued(sessions, request.id) == ["RETURN_REQUEST_CREATED"]
    async with sessions() as session:
        event = await session.scalar(sa.select(OutboxMessage).where(col(OutboxMessage.key) == request.id))
        [read] = await returns.present(session, [request])
    assert event is not None
    payload = event.body["event"]["payload"]
    assert (payload["orderId"], payload["customerEmail"], payload["status"]) == (
        order_id,
        CUSTOMER.email,
        "PENDING_APPROVAL",
    )
    assert read.refund_amount == Decimal("50.00")  # the returned units, not the whole order
    assert [(i.order_item_id, i.quantity) for i in read.items] == [(shoe, 2)]


async def test_a_line_never_gives_back_more_than_was_bought_over_every_return(sessions: Sessions) -> None:
    order_id, (shoe, hat) = await an_order(sessions)
    first, _ = await ask(sessions, asking(order_id, (shoe, 2)))
    await ask(sessions, asking(order_id, (hat, 1)))
    with pytest.raises(InvalidReturnItem, match="1 of 3 left to return"):
        await ask(sessions, asking(order_id, (shoe, 2)))
    await ask(sessions, asking(order_id, (shoe, 1)))  # the last one: allowed
    await move(sessions, first.id, ReturnStatus.REJECTED)
    await ask(sessions, asking(order_id, (shoe, 2)))  # a rejected return's units may be asked again


async def test_two_racing_returns_of_the_same_units_leave_one(sessions: Sessions) -> None:
    order_id, (shoe, _) = await an_order(sessions)
    outcomes = await asyncio.gather(
        *(ask(sessions, asking(order_id, (shoe, 3))) for _ in range(4)), return_exceptions=True
    )
    assert sum(isinstance(o, tuple) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, InvalidReturnItem) for o in outcomes if not isinstance(o, tuple)), outcomes


@pytest.mark.parametrize(
    "lines",
    [[], [("x", 0)], [("x", -1)], [("x", 1.5)]],
    ids=["no items", "zero", "negative", "fraction"],
)
def test_no_items_and_quantities_below_one_are_refused(lines: list[tuple[str, Any]]) -> None:
    with pytest.raises(ValidationError):
        asking("o-1", *lines)


async def test_a_line_of_another_order_or_named_twice_is_refused(sessions: Sessions) -> None:
    order_id, (shoe, _) = await an_order(sessions)
    _, (elsewhere, _) = await an_order(sessions)
    with pytest.raises(InvalidReturnItem, match="not a line of this order"):
        await ask(sessions, asking(order_id, (elsewhere, 1)))
    with pytest.raises(InvalidReturnItem, match="named twice"):
        await ask(sessions, asking(order_id, (shoe, 1), (shoe, 1)))


async def test_only_a_delivered_order_of_the_callers_own_is_returned(sessions: Sessions) -> None:
    shipped, (line, _) = await an_order(sessions, OrderStatus.SHIPPED)
    with pytest.raises(NotReturnable, match="'SHIPPED' is not returnable"):
        await ask(sessions, asking(shipped, (line, 1)))
    delivered, (line, _) = await an_order(sessions)
    with pytest.raises(OrderNotFound):
        await ask(sessions, asking(delivered, (line, 1)), caller=OTHER)
    with pytest.raises(OrderNotFound):
        await ask(sessions, asking(delivered, (line, 1)), caller=STAFF)  # staff do not return for customers
    with pytest.raises(GuestTokenRequired):
        await ask(sessions, asking(delivered, (line, 1)), caller=None)
    with pytest.raises(OrderNotFound):
        await ask(sessions, asking(shipped, (line, 1)), caller=OTHER)  # not told the status of another's


async def test_a_guest_returns_with_the_orders_token(sessions: Sessions) -> None:
    order_id, (shoe, _) = await an_order(sessions, guest_token="t0ken")
    with pytest.raises(OrderNotFound):
        await ask(sessions, asking(order_id, (shoe, 1)), caller=None, token="wrong")
    request, _ = await ask(sessions, asking(order_id, (shoe, 1)), caller=None, token="t0ken")
    async with sessions() as session:
        assert (await returns.get_return(session, request.id, None, "t0ken")).id == request.id
        with pytest.raises(ReturnNotFound):
            await returns.get_return(session, request.id, None, None)
        with pytest.raises(ReturnNotFound):
            await returns.get_return(session, request.id, OTHER, None)
        assert (await returns.get_return(session, request.id, STAFF, None)).id == request.id


async def test_an_idempotency_key_answers_the_first_return(sessions: Sessions) -> None:
    order_id, (shoe, _) = await an_order(sessions)
    first, created = await ask(sessions, asking(order_id, (shoe, 3)), key="k-1")
    again, repeated = await ask(sessions, asking(order_id, (shoe, 3)), key="k-1")
    assert (created, repeated, again.id) == (True, False, first.id)
    assert await queued(sessions, first.id) == ["RETURN_REQUEST_CREATED"]


async def test_the_status_machine_and_a_completion_that_queues_its_workflow_once(sessions: Sessions) -> None:
    order_id, (shoe, hat) = await an_order(sessions)
    request, _ = await ask(sessions, asking(order_id, (shoe, 1), (hat, 1)))
    with pytest.raises(InvalidReturnTransition):
        await move(sessions, request.id, ReturnStatus.COMPLETED)  # not approved yet
    approved = await move(sessions, request.id, ReturnStatus.APPROVED, "Send them back")
    assert (approved.status, approved.admin_comments) == ("APPROVED", "Send them back")
    with pytest.raises(InvalidReturnTransition):
        await move(sessions, request.id, ReturnStatus.REJECTED)
    await move(sessions, request.id, ReturnStatus.COMPLETED)
    await move(sessions, request.id, ReturnStatus.COMPLETED)  # a repeat: nothing more
    expected = ["RETURN_REQUEST_CREATED", "RETURN_REQUEST_APPROVED", "RETURN_REQUEST_COMPLETED", "workflow"]
    assert await queued(sessions, request.id) == expected
    async with sessions() as session:
        start = await session.scalar(sa.select(OutboxMessage).where(col(OutboxMessage.kind) == "workflow"))
    assert start is not None
    [data] = start.body["args"]
    assert (start.body["id"], data["refund_amount"]) == (f"return-{request.id}", "35.00")
    assert sorted((line["variant_id"], line["quantity"]) for line in data["lines"]) == [
        ("v-hat", 1),
        ("v-shoe", 1),
    ]
    with pytest.raises(ReturnNotFound):
        await move(sessions, str(uuid.uuid4()), ReturnStatus.APPROVED)


async def test_two_racing_completions_queue_one_workflow(sessions: Sessions) -> None:
    order_id, (shoe, _) = await an_order(sessions)
    request, _ = await ask(sessions, asking(order_id, (shoe, 1)))
    await move(sessions, request.id, ReturnStatus.APPROVED)
    await asyncio.gather(*(move(sessions, request.id, ReturnStatus.COMPLETED) for _ in range(4)))
    assert (await queued(sessions, request.id)).count("workflow") == 1


async def test_a_cash_order_return_refunds_nothing(sessions: Sessions) -> None:
    order_id, (shoe, _) = await an_order(sessions, method=PaymentMethod.CASH_ON_DELIVERY)
    request, _ = await ask(sessions, asking(order_id, (shoe, 1)))
    await move(sessions, request.id, ReturnStatus.APPROVED)
    assert (await move(sessions, request.id, ReturnStatus.COMPLETED)).refund_amount is None


async def test_settling_is_recorded_once_and_only_on_a_completed_return(sessions: Sessions) -> None:
    order_id, (shoe, _) = await an_order(sessions)
    request, _ = await ask(sessions, asking(order_id, (shoe, 2)))
    settled = ReturnSettled(restocked_units=2, refunded_amount="50.00", refund_id="rfd_1")
    async with sessions() as session:
        with pytest.raises(InvalidReturnTransition):
            await returns.settle(session, request.id, settled)
    await move(sessions, request.id, ReturnStatus.APPROVED)
    await move(sessions, request.id, ReturnStatus.COMPLETED)
    async with sessions() as session:
        await returns.settle(session, request.id, settled)
        await returns.settle(session, request.id, settled.model_copy(update={"refund_id": "rfd_2"}))
        [read] = await returns.present(session, [await returns.get_return(session, request.id, STAFF, None)])
    assert (read.restocked_units, read.refunded_amount, read.refund_id) == (2, Decimal("50.00"), "rfd_1")
    assert read.settled_at is not None
