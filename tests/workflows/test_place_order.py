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

from contracts.orders import OrderStatus
from kit.outbox import signal_workflow, start_workflow
from tests.support import eventually
from tests.workflows.shop_fakes import Saga, an_order, running_saga
from workflows import place_order
from workflows.place_order import (
    AWAITING_DELIVERY,
    AWAITING_FULFILMENT,
    ORDER_STATUS,
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
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.SHIPPED)
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.DELIVERED)
    assert await finished(handle) == PlaceOrderResult(status="DELIVERED")


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


Handle = WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]


async def attribute(handle: Handle) -> str | None:
    """The run's OrderStatus search attribute as the server holds it now (visibility lags behind)."""
    return (await handle.describe()).typed_search_attributes.get(ORDER_STATUS)


async def becomes(handle: Handle, status: str) -> None:
    async def now() -> bool:
        return await attribute(handle) == status

    await eventually(now, within=30)


async def listed_as(client: Client, handle: Handle, status: str) -> None:
    """Visibility (the Web UI's list, `temporal workflow list --query`) finds the run by its status."""
    query = f"WorkflowId = '{handle.id}' AND OrderStatus = '{status}'"

    async def found() -> bool:
        return [w.id async for w in client.list_workflows(query)] == [handle.id]

    await eventually(found, within=30)


async def test_the_status_attribute_follows_the_order_to_its_delivery(saga: Saga) -> None:
    handle = await saga.start(("red", 1))
    await settled(handle)
    await listed_as(saga.client, handle, "PAID")
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.SHIPPED)
    await becomes(handle, "SHIPPED")
    assert await handle.query(PlaceOrderWorkflow.current_step) == AWAITING_DELIVERY
    await listed_as(saga.client, handle, "SHIPPED")
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.DELIVERED)
    assert await finished(handle) == PlaceOrderResult(status="DELIVERED")
    await listed_as(saga.client, handle, "DELIVERED")


async def test_a_late_repeated_or_out_of_order_status_never_moves_the_attribute_back(saga: Saga) -> None:
    handle = await saga.start(("red", 1), method="CASH_ON_DELIVERY")
    await settled(handle)
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.SHIPPED)
    for stale in (OrderStatus.SHIPPED, OrderStatus.CONFIRMED, OrderStatus.PENDING, OrderStatus.CANCELLING):
        await handle.signal(PlaceOrderWorkflow.order_status, stale)
    await becomes(handle, "SHIPPED")
    upserts = await _status_upserts(handle)
    assert upserts == ["PENDING", "CONFIRMED", "SHIPPED"]  # the stale signals issued no upsert
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.DELIVERED)
    assert (await finished(handle)).status == "DELIVERED"


async def test_a_delivery_reported_before_its_shipping_ends_the_saga_and_the_late_one_is_harmless(
    saga: Saga,
) -> None:
    handle = await saga.start(("red", 1))
    await settled(handle)
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.DELIVERED)
    assert await finished(handle) == PlaceOrderResult(status="DELIVERED")
    order_id = handle.id.removeprefix("order-")
    await signal_workflow(saga.client, place_order.status_changed(order_id, OrderStatus.SHIPPED))  # no raise
    assert await attribute(handle) == "DELIVERED"
    await listed_as(saga.client, handle, "DELIVERED")


async def test_a_cancellation_shows_cancelling_then_cancelled(saga: Saga) -> None:
    handle = await saga.start(("red", 2))
    await settled(handle)
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.CANCELLING)
    await becomes(handle, "CANCELLING")
    await listed_as(saga.client, handle, "CANCELLING")
    await handle.signal(PlaceOrderWorkflow.cancel, "Changed my mind")
    assert (await finished(handle)).status == "CANCELLED"
    late = place_order.status_changed(handle.id.removeprefix("order-"), OrderStatus.CANCELLING)
    await signal_workflow(saga.client, late)  # the saga has ended: delivered as nothing to do
    await listed_as(saga.client, handle, "CANCELLED")
    assert await _status_upserts(handle) == ["PENDING", "PAID", "CANCELLING", "CANCELLED"]


async def test_a_declined_order_is_listed_as_failed(saga: Saga) -> None:
    handle = await saga.start(("red", 1), token="tok_declined")
    assert (await finished(handle)).status == "FAILED"
    await listed_as(saga.client, handle, "FAILED")


async def test_a_signal_for_an_order_with_no_saga_is_delivered_as_nothing_to_do(saga: Saga) -> None:
    await signal_workflow(saga.client, place_order.status_changed(str(uuid.uuid4()), OrderStatus.SHIPPED))


async def _status_upserts(handle: Handle) -> list[str]:
    """Every value the run gave its OrderStatus attribute, in order, read from its history."""
    values = []
    async for event in handle.fetch_history_events():
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            if "OrderStatus" in fields:
                values.append(fields["OrderStatus"].data.decode().strip('"'))
    return values


async def test_a_saga_no_worker_has_run_yet_is_listed_pending_by_its_order_id(saga: Saga) -> None:
    order = an_order(("red", 1))
    start = place_order.start(order).model_copy(update={"task_queue": f"nobody-{uuid.uuid4().hex}"})
    await start_workflow(saga.client, start)  # as the outbox starts it; no worker polls that queue
    handle = saga.client.get_workflow_handle(start.id)
    try:
        await eventually(lambda: _listed_as_pending(saga.client, order.order_id), within=30)
        assert (await handle.describe()).typed_search_attributes.get(ORDER_STATUS) == "PENDING"
    finally:
        await handle.terminate("test over")


async def _listed_as_pending(client: Client, order_id: str) -> bool:
    query = f"OrderId = '{order_id}' AND CustomerEmail = 'ann@example.com' AND OrderStatus = 'PENDING'"
    return [w.id async for w in client.list_workflows(query)] == [f"order-{order_id}"]
