"""The order saga on a real Temporal server, with the shop's activities held in memory."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.payments import Charge, PaymentActivities, SandboxPayments
from tests.support import eventually
from tests.workflows.shop_fakes import FakeShop, an_order
from workflows.place_order import (
    STEP_ATTEMPTS,
    OrderLine,
    PlaceOrderInput,
    PlaceOrderResult,
    PlaceOrderWorkflow,
)


class RepairableSandbox(SandboxPayments):
    """The sandbox provider, whose refunds can be broken until an operator repairs them."""

    refunds_broken = False

    async def refund(self, charge: Charge) -> None:
        if self.refunds_broken:
            raise ConnectionError("refunds are down")
        await super().refund(charge)


@dataclass
class Saga:
    client: Client
    queue: str
    shop: FakeShop
    sandbox: RepairableSandbox

    async def start(
        self, *lines: tuple[str, int], **options: Any
    ) -> WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]:
        order = an_order(*lines, **options)
        return await self.client.start_workflow(
            PlaceOrderWorkflow.run, order, id=f"order-{order.order_id}", task_queue=self.queue
        )


@pytest.fixture
async def saga(temporal_address: str) -> AsyncIterator[Saga]:
    client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    shop, sandbox = FakeShop({"red": 10, "blue": 1}), RepairableSandbox()
    payments = PaymentActivities(sandbox)
    queue = f"orders-{uuid.uuid4().hex}"
    async with Worker(
        client, task_queue=queue, workflows=[PlaceOrderWorkflow], activities=shop.activities(payments)
    ):
        yield Saga(client, queue, shop, sandbox)


async def settled(handle: WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]) -> None:
    await eventually(lambda: _step(handle), within=30)


async def _step(handle: WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]) -> bool:
    return await handle.query(PlaceOrderWorkflow.current_step) == "awaiting fulfilment"


async def test_a_card_order_reserves_charges_confirms_and_clears_the_cart(saga: Saga) -> None:
    handle = await saga.start(("red", 2), ("blue", 1), cart_id="cart-1")
    await settled(handle)
    assert [r.status for r in saga.shop.statuses] == ["PAID"]
    assert saga.shop.statuses[0].transaction_id is not None
    assert saga.shop.stock == {"red": 8, "blue": 0}
    assert saga.shop.cleared == ["cart-1"]
    await handle.signal(PlaceOrderWorkflow.fulfilment_started)
    assert await handle.result() == PlaceOrderResult("PAID")


async def test_a_cash_order_is_confirmed_without_a_charge(saga: Saga) -> None:
    handle = await saga.start(("red", 1), method="CASH_ON_DELIVERY")
    await settled(handle)
    assert [r.status for r in saga.shop.statuses] == ["CONFIRMED"]
    assert saga.sandbox.charged == {}


async def test_a_transient_stock_service_failure_is_retried_and_the_order_succeeds(saga: Saga) -> None:
    saga.shop.unreachable_times = 2
    handle = await saga.start(("red", 1))
    await settled(handle)
    assert [r.status for r in saga.shop.statuses] == ["PAID"]
    assert saga.shop.reserve_attempts == 3
    assert saga.shop.stock["red"] == 9


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
    assert await handle.result() == PlaceOrderResult("CANCELLED", "Changed my mind")
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


async def test_a_step_that_keeps_failing_fails_the_order_after_its_attempts(saga: Saga) -> None:
    saga.shop.unreachable_times = 10**6
    handle = await saga.start(("red", 1), retry_every=0.2)
    result = await finished(handle)
    assert (result.status, result.reason) == ("FAILED", "products service unreachable")
    assert saga.shop.reserve_attempts == STEP_ATTEMPTS
    assert saga.shop.stock["red"] == 10


async def test_a_cancel_interrupts_a_step_that_keeps_retrying(saga: Saga) -> None:
    saga.shop.unreachable_times = 10**6
    handle = await saga.start(("red", 1), ("blue", 1))
    await eventually(lambda: saga.shop.reserve_attempts >= 2, within=10)
    await handle.signal(PlaceOrderWorkflow.cancel, "Too slow")
    assert await finished(handle) == PlaceOrderResult("CANCELLED", "Too slow")
    assert saga.shop.reserve_attempts < STEP_ATTEMPTS
    assert saga.shop.stock == {"red": 10, "blue": 1}
    assert [r.status for r in saga.shop.statuses] == ["CANCELLED"]


async def test_a_compensation_that_keeps_failing_is_parked_until_an_operator_retries_it(saga: Saga) -> None:
    saga.sandbox.refunds_broken = True
    handle = await saga.start(("red", 2), retry_every=0.2)
    await settled(handle)
    await handle.signal(PlaceOrderWorkflow.cancel, "Changed my mind")

    async def parked() -> bool:
        return (await handle.query(PlaceOrderWorkflow.current_step)).startswith("awaiting an operator")

    await eventually(parked, within=30)
    cancelled = saga.shop.statuses[-1]
    assert cancelled.status == "CANCELLED"
    assert [p["step"] for p in cancelled.parked or []] == ["refunding the payment"]
    assert saga.shop.stock["red"] == 10  # the release ran although the refund before it failed
    saga.sandbox.refunds_broken = False
    await handle.signal(PlaceOrderWorkflow.retry_compensations)
    assert await finished(handle) == PlaceOrderResult("CANCELLED", "Changed my mind")
    assert saga.shop.statuses[-1].parked is None
    assert saga.sandbox.refunded == set(saga.sandbox.charged)


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
    order = PlaceOrderInput(order_id, [OrderLine("red", 2)], "CREDIT_CARD", "30.00", "ann@example.com")
    handle = await saga.client.start_workflow(
        PlaceOrderWorkflow.run,
        order,
        id=f"order-{order_id}",
        task_queue=saga.queue,
        start_signal="cancel",
        start_signal_args=["Cancelled by the customer"],
    )
    assert await finished(handle) == PlaceOrderResult("CANCELLED", "Cancelled by the customer")
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
