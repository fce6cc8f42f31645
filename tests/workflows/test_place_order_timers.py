"""The order saga's timers on Temporal's time-skipping test server: its 30-day cancellation window and its
retries' backoff pass in a moment of real time, with the saga's own window (no shortened input) and no
query of where the saga stands. The server skips ahead to the next timer while a test awaits a result, or
by as much as a test sleeps (`env.sleep`); otherwise its clock runs as the real one does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from contracts.orders import OrderStatus
from tests.support import eventually
from tests.workflows.shop_fakes import Handle, Saga, running_saga
from workflows.place_order import STEP_ATTEMPTS, PlaceOrderResult, PlaceOrderWorkflow

CANCEL_WINDOW = timedelta(days=30)  # how long a placed order stays cancellable (PlaceOrderWorkflow)
DELIVERY_WINDOW = timedelta(days=60)  # how long a shipped order is followed until delivered


@pytest.fixture
async def saga(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Saga]:
    async with running_saga(time_skipping_env.client) as saga:
        yield saga


async def placed(saga: Saga) -> None:
    """The shop has been told the order is placed: the cancellation window opens now."""
    await eventually(lambda: [r.status for r in saga.shop.statuses] in (["PAID"], ["CONFIRMED"]), within=30)


async def lasted(handle: Handle) -> timedelta:
    """The saga's life on the server's clock, from its start to its close."""
    run: WorkflowExecutionDescription = await handle.describe()
    assert run.close_time is not None
    return run.close_time - run.start_time


async def test_an_order_nobody_cancels_or_ships_completes_when_its_window_closes(saga: Saga) -> None:
    handle = await saga.start(("red", 2), ("blue", 1))
    assert await handle.result() == PlaceOrderResult(status="PAID")
    assert CANCEL_WINDOW <= await lasted(handle) < CANCEL_WINDOW + timedelta(hours=1)
    assert [r.status for r in saga.shop.statuses] == ["PAID"]
    assert saga.shop.stock == {"red": 8, "blue": 0}  # kept: the order stands
    assert saga.sandbox.refunded == set()
    assert "release_stock" not in saga.shop.calls


async def test_a_cancel_just_before_the_window_closes_still_gives_everything_back(
    saga: Saga, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await saga.start(("red", 3), ("blue", 1))
    await placed(saga)
    await time_skipping_env.sleep(CANCEL_WINDOW - timedelta(hours=1))
    await handle.signal(PlaceOrderWorkflow.cancel, "Changed my mind")
    assert await handle.result() == PlaceOrderResult(status="CANCELLED", reason="Changed my mind")
    assert CANCEL_WINDOW - timedelta(hours=2) < await lasted(handle) < CANCEL_WINDOW
    assert saga.shop.stock == {"red": 10, "blue": 1}
    assert [r.status for r in saga.shop.statuses] == ["PAID", "CANCELLED"]
    assert saga.sandbox.refunded == set(saga.sandbox.charged) != set()


async def test_a_shipped_order_nobody_delivers_is_followed_for_its_delivery_window(
    saga: Saga, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await saga.start(("red", 1))
    await placed(saga)
    await time_skipping_env.sleep(timedelta(days=29))
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.SHIPPED)
    assert await handle.result() == PlaceOrderResult(status="SHIPPED")
    assert DELIVERY_WINDOW + timedelta(days=29) <= await lasted(handle) < DELIVERY_WINDOW + CANCEL_WINDOW
    assert saga.sandbox.refunded == set()


async def test_a_cancel_after_the_window_closed_finds_no_saga_to_reach(saga: Saga) -> None:
    handle = await saga.start(("red", 1), method="CASH_ON_DELIVERY")
    assert await handle.result() == PlaceOrderResult(status="CONFIRMED")
    with pytest.raises(RPCError) as refused:
        await handle.signal(PlaceOrderWorkflow.cancel, "Too late")
    assert refused.value.status == RPCStatusCode.NOT_FOUND
    assert saga.shop.stock["red"] == 9
    assert [r.status for r in saga.shop.statuses] == ["CONFIRMED"]


async def test_a_transient_stock_service_failure_is_retried_and_the_order_succeeds(saga: Saga) -> None:
    saga.shop.unreachable_times = 2
    handle = await saga.start(("red", 1))
    assert await handle.result() == PlaceOrderResult(status="PAID")
    assert [r.status for r in saga.shop.statuses] == ["PAID"]
    assert saga.shop.reserve_attempts == 3
    assert saga.shop.stock["red"] == 9


async def test_a_step_that_keeps_failing_fails_the_order_after_its_attempts(saga: Saga) -> None:
    saga.shop.unreachable_times = 10**6
    handle = await saga.start(("red", 1))
    result = await handle.result()
    assert (result.status, result.reason) == ("FAILED", "products service unreachable")
    assert saga.shop.reserve_attempts == STEP_ATTEMPTS
    assert saga.shop.stock["red"] == 10


async def test_a_placement_whose_report_keeps_losing_its_answer_is_reported_until_answered(
    saga: Saga,
) -> None:
    """The orders service recorded PAID but its answers were lost, beyond a step's attempts: giving up
    would release stock the order, PAID for good, still holds (and a FAILED report is refused)."""
    saga.shop.answers_lost = STEP_ATTEMPTS + 2
    handle = await saga.start(("red", 1))
    assert await handle.result() == PlaceOrderResult(status="PAID")
    assert [r.status for r in saga.shop.statuses] == ["PAID"]
    assert saga.shop.calls.count("set_order_status:PAID") == STEP_ATTEMPTS + 3
    assert saga.shop.stock["red"] == 9
    assert "release_stock" not in saga.shop.calls


async def test_a_compensation_that_keeps_failing_is_parked_until_an_operator_retries_it(
    saga: Saga, time_skipping_env: WorkflowEnvironment
) -> None:
    saga.sandbox.refunds_broken = True
    handle = await saga.start(("red", 2))
    await placed(saga)
    await handle.signal(PlaceOrderWorkflow.cancel, "Changed my mind")
    await time_skipping_env.sleep(timedelta(hours=1))  # far beyond the refund's attempts and their backoff
    await eventually(lambda: saga.shop.statuses[-1].status == "CANCELLED", within=30)
    cancelled = saga.shop.statuses[-1]
    assert [p["step"] for p in cancelled.parked or []] == ["refunding the payment"]
    assert saga.shop.calls.count("release_stock") == 1
    assert saga.shop.stock["red"] == 10  # the release ran although the refund before it failed
    parked = await (await handle.describe()).memo_value("parkedCompensations")
    assert [p["step"] for p in parked] == ["refunding the payment"]
    saga.sandbox.refunds_broken = False
    await handle.signal(PlaceOrderWorkflow.retry_compensations)
    assert await handle.result() == PlaceOrderResult(status="CANCELLED", reason="Changed my mind")
    assert saga.shop.statuses[-1].parked is None
    assert saga.sandbox.refunded == set(saga.sandbox.charged)
