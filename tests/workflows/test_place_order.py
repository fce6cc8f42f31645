"""The order saga on a real Temporal server, with the shop's activities held in memory. What waits on the
saga's timers (its cancellation window, its retries' backoff) is in test_place_order_timers.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.support import eventually
from tests.workflows.shop_fakes import Saga, running_saga
from workflows.place_order import (
    AWAITING_FULFILMENT,
    STEP_ATTEMPTS,
    OrderLine,
    PlaceOrderInput,
    PlaceOrderResult,
    PlaceOrderWorkflow,
)


@pytest.fixture
async def saga(temporal_address: str) -> AsyncIterator[Saga]:
    client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    async with running_saga(client) as saga:
        yield saga


async def settled(handle: WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]) -> None:
    await eventually(lambda: _step(handle), within=30)


async def _step(handle: WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]) -> bool:
    return await handle.query(PlaceOrderWorkflow.current_step) == AWAITING_FULFILMENT


async def test_a_card_order_reserves_charges_confirms_and_clears_the_cart(saga: Saga) -> None:
    handle = await saga.start(("red", 2), ("blue", 1), cart_id="cart-1")
    await settled(handle)
    assert [r.status for r in saga.shop.statuses] == ["PAID"]
    assert saga.shop.statuses[0].transaction_id is not None
    assert saga.shop.stock == {"red": 8, "blue": 0}
    assert saga.shop.cleared == ["cart-1"]
    await handle.signal(PlaceOrderWorkflow.fulfilment_started)
    assert await handle.result() == PlaceOrderResult(status="PAID")


async def test_a_cash_order_is_confirmed_without_a_charge(saga: Saga) -> None:
    handle = await saga.start(("red", 1), method="CASH_ON_DELIVERY")
    await settled(handle)
    assert [r.status for r in saga.shop.statuses] == ["CONFIRMED"]
    assert saga.sandbox.charged == {}


async def test_a_declined_card_releases_every_reserved_unit(saga: Saga) -> None:
    handle = await saga.start(("red", 2), ("blue", 1), token="tok_declined")
    result = await handle.result()
    assert result.status == "FAILED"
    assert saga.shop.stock == {"red": 10, "blue": 1}
    (failed,) = saga.shop.statuses
    assert (failed.status, failed.code, failed.reason) == ("FAILED", "PaymentDeclined", "Card declined")


async def test_insufficient_stock_fails_the_order_and_gives_back_earlier_lines(saga: Saga) -> None:
    handle = await saga.start(("red", 2), ("blue", 5))
    assert (await handle.result()).status == "FAILED"
    assert saga.shop.stock == {"red": 10, "blue": 1}
    (failed,) = saga.shop.statuses
    assert failed.code == "InsufficientStock"
    assert failed.details == [{"variantId": "blue", "requested": 5, "available": 1}]


async def test_a_cancellation_runs_the_same_compensations(saga: Saga) -> None:
    handle = await saga.start(("red", 3))
    await settled(handle)
    await handle.signal(PlaceOrderWorkflow.cancel, "Changed my mind")
    assert await handle.result() == PlaceOrderResult(status="CANCELLED", reason="Changed my mind")
    assert saga.shop.stock["red"] == 10
    assert [r.status for r in saga.shop.statuses] == ["PAID", "CANCELLED"]
    assert saga.sandbox.refunded == set(saga.sandbox.charged)


async def finished(handle: WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]) -> PlaceOrderResult:
    """The saga's result; a saga that hangs fails the test instead of the run."""
    return await asyncio.wait_for(handle.result(), timeout=30)


async def test_the_cart_is_emptied_before_the_order_is_confirmed(saga: Saga) -> None:
    handle = await saga.start(("red", 1), cart_id="cart-1")
    await settled(handle)
    assert saga.shop.calls.index("clear_cart") < saga.shop.calls.index("set_order_status:PAID")


async def test_a_cancel_interrupts_a_step_that_keeps_retrying(saga: Saga) -> None:
    saga.shop.unreachable_times = 10**6
    handle = await saga.start(("red", 1), ("blue", 1))
    await eventually(lambda: saga.shop.reserve_attempts >= 2, within=10)
    await handle.signal(PlaceOrderWorkflow.cancel, "Too slow")
    assert await finished(handle) == PlaceOrderResult(status="CANCELLED", reason="Too slow")
    assert saga.shop.reserve_attempts < STEP_ATTEMPTS
    assert saga.shop.stock == {"red": 10, "blue": 1}
    assert [r.status for r in saga.shop.statuses] == ["CANCELLED"]


async def test_a_placement_that_a_cancellation_overtook_is_given_back(saga: Saga) -> None:
    saga.shop.cancelling = True  # the orders service refuses PAID: the order is CANCELLING
    handle = await saga.start(("red", 2))
    assert (await finished(handle)).status == "CANCELLED"
    assert saga.shop.stock["red"] == 10
    assert saga.sandbox.refunded == set(saga.sandbox.charged) != set()
    assert [r.status for r in saga.shop.statuses] == ["CANCELLED"]


async def test_a_cancel_that_finds_no_open_saga_gives_back_what_the_order_holds(saga: Saga) -> None:
    order_id = str(uuid.uuid4())
    saga.shop.reserved[(order_id, "red")], saga.shop.stock["red"] = 2, 8  # what an earlier run did
    saga.sandbox.charged[order_id] = Decimal("30.00")
    order = PlaceOrderInput(
        order_id=order_id,
        lines=[OrderLine(variant_id="red", quantity=2)],
        payment_method="CREDIT_CARD",
        amount="30.00",
        customer_email="ann@example.com",
    )
    handle = await saga.client.start_workflow(
        PlaceOrderWorkflow.run,
        order,
        id=f"order-{order_id}",
        task_queue=saga.queue,
        start_signal="cancel",
        start_signal_args=["Cancelled by the customer"],
    )
    assert await finished(handle) == PlaceOrderResult(status="CANCELLED", reason="Cancelled by the customer")
    assert "reserve_stock" not in saga.shop.calls
    assert saga.shop.stock["red"] == 10
    assert saga.sandbox.refunded == {order_id}


async def test_an_operator_finds_the_order_by_its_id(saga: Saga) -> None:
    handle = await saga.start(("red", 1))
    await settled(handle)
    await eventually(lambda: _listed(saga.client, handle.id.removeprefix("order-")), within=30)


async def _listed(client: Client, order_id: str) -> bool:
    return [
        w.id async for w in client.list_workflows(f"OrderId = '{order_id}' AND OrderStatus = 'PAID'")
    ] == [f"order-{order_id}"]
