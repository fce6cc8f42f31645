"""The order saga on a real Temporal server, with the shop's activities held in memory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.payments import PaymentActivities, SandboxPayments
from tests.support import eventually
from tests.workflows.shop_fakes import FakeShop
from workflows.place_order import OrderLine, PlaceOrderInput, PlaceOrderResult, PlaceOrderWorkflow


@dataclass
class Saga:
    client: Client
    queue: str
    shop: FakeShop
    sandbox: SandboxPayments

    async def start(
        self,
        *lines: tuple[str, int],
        method: str = "CREDIT_CARD",
        token: str | None = None,
        cart_id: str | None = None,
    ) -> WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]:
        order_id = str(uuid.uuid4())
        saga = PlaceOrderInput(
            order_id=order_id,
            lines=[OrderLine(v, q) for v, q in lines],
            payment_method=method,
            amount="30.00",
            customer_email="ann@example.com",
            payment_token=token,
            cart_id=cart_id,
            max_retry_interval_seconds=1,
        )
        return await self.client.start_workflow(
            PlaceOrderWorkflow.run, saga, id=f"order-{order_id}", task_queue=self.queue
        )


@pytest.fixture
async def saga(temporal_address: str) -> AsyncIterator[Saga]:
    client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    shop, sandbox = FakeShop({"red": 10, "blue": 1}), SandboxPayments()
    payments = PaymentActivities(sandbox)
    queue = f"orders-{uuid.uuid4().hex}"
    activities: list[Callable[..., Any]] = [
        shop.reserve_stock,
        shop.release_stock,
        shop.set_order_status,
        shop.clear_cart,
        payments.charge_payment,
        payments.refund_payment,
    ]
    async with Worker(client, task_queue=queue, workflows=[PlaceOrderWorkflow], activities=activities):
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


async def test_an_operator_finds_the_order_by_its_id(saga: Saga) -> None:
    handle = await saga.start(("red", 1))
    await settled(handle)
    await eventually(lambda: _listed(saga.client, handle.id.removeprefix("order-")), within=30)


async def _listed(client: Client, order_id: str) -> bool:
    return [
        w.id async for w in client.list_workflows(f"OrderId = '{order_id}' AND OrderStatus = 'PAID'")
    ] == [f"order-{order_id}"]
