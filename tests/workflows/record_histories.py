"""Record PlaceOrderWorkflow histories for the replay test: one JSON file per scenario and version.

Run it from a checkout of the workflow version to record (a `git worktree` of that commit), so the
histories come from the committed code and not from a change in progress:

    git worktree add /tmp/saga-v2 HEAD
    cd /tmp/saga-v2 && PYTHONPATH=. /work/main/.venv/bin/python -m tests.workflows.record_histories v2 \
        --out /work/main/tests/workflows/histories/place_order

The scenarios run on a real Temporal server (COMMERCE_TEST_TEMPORAL_ADDRESS when it answers, else a
dev server of our own) with the shop's activities held in memory, as in test_place_order.py; those that
wait out a timer (the 30-day cancellation window) run on the time-skipping test server instead (see
tests/support.py: time_skipping_environment), as in test_place_order_timers.py. Open orders are recorded
while still running, then terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.payments import PaymentActivities, SandboxPayments
from contracts.orders import OrderStatus
from kit.temporal import answers
from tests.support import eventually, temporal_dev_server, time_skipping_environment
from tests.workflows.shop_fakes import FakeShop, an_order
from workflows import place_order
from workflows.place_order import AWAITING_DELIVERY, AWAITING_FULFILMENT, PlaceOrderResult, PlaceOrderWorkflow

log = logging.getLogger("record_histories")

HISTORIES = Path(__file__).parent / "histories" / "place_order"
Handle = WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]


@dataclass
class Run:
    """One scenario's worker: its own task queue, shop and payment sandbox."""

    client: Client
    queue: str
    shop: FakeShop

    async def start(self, *lines: tuple[str, int], **options: Any) -> Handle:
        order = an_order(*lines, **options)
        return await self.client.start_workflow(
            PlaceOrderWorkflow.run, order, id=f"order-{order.order_id}", task_queue=self.queue
        )


async def awaiting_fulfilment(handle: Handle) -> None:
    await at_step(handle, AWAITING_FULFILMENT)


async def at_step(handle: Handle, step: str) -> None:
    async def there() -> bool:
        return await handle.query(PlaceOrderWorkflow.current_step) == step

    await eventually(there, within=30)


async def ends(handle: Handle, status: str) -> None:
    result = await handle.result()
    if result.status != status:
        raise RuntimeError(f"{handle.id} ended {result}, expected {status}")


async def card_shipped(run: Run) -> Handle:
    """Shipped, then delivered: the orders service signals each status (from v3; `fulfilment_started`
    before)."""
    handle = await run.start(("red", 2), ("blue", 1))
    await awaiting_fulfilment(handle)
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.SHIPPED)
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.DELIVERED)
    await ends(handle, "DELIVERED")
    return handle


async def shipped_awaiting_delivery(run: Run) -> Handle:
    """Still open: shipped, followed until it is delivered."""
    handle = await run.start(("red", 1), method="CASH_ON_DELIVERY")
    await awaiting_fulfilment(handle)
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.SHIPPED)
    await at_step(handle, AWAITING_DELIVERY)
    return handle


async def statuses_out_of_order(run: Run) -> Handle:
    """Late and repeated signals (a PAID after SHIPPED, SHIPPED twice) leave the attribute where it is."""
    handle = await run.start(("red", 1))
    await awaiting_fulfilment(handle)
    for status in ("SHIPPED", "PAID", "SHIPPED", "CANCELLING", "DELIVERED"):
        await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus(status))
    await ends(handle, "DELIVERED")
    return handle


async def cancelling_then_cancelled(run: Run) -> Handle:
    """A cancellation as the orders service sends it: the CANCELLING status, then the cancel."""
    handle = await run.start(("red", 3))
    await awaiting_fulfilment(handle)
    await handle.signal(PlaceOrderWorkflow.order_status, OrderStatus.CANCELLING)
    await handle.signal(PlaceOrderWorkflow.cancel, "Cancelled by the customer")
    await ends(handle, "CANCELLED")
    return handle


async def cash_awaiting_fulfilment(run: Run) -> Handle:
    handle = await run.start(("red", 1), method="CASH_ON_DELIVERY")
    await awaiting_fulfilment(handle)
    return handle


async def card_cancelled(run: Run) -> Handle:
    handle = await run.start(("red", 3))
    await awaiting_fulfilment(handle)
    await handle.signal(PlaceOrderWorkflow.cancel, "Changed my mind")
    await ends(handle, "CANCELLED")
    return handle


async def card_declined(run: Run) -> Handle:
    handle = await run.start(("red", 2), ("blue", 1), token="tok_declined")
    await ends(handle, "FAILED")
    return handle


async def second_line_out_of_stock(run: Run) -> Handle:
    handle = await run.start(("red", 2), ("blue", 5))
    await ends(handle, "FAILED")
    return handle


async def reserve_retried_awaiting_fulfilment(run: Run) -> Handle:
    run.shop.unreachable_times = 2
    handle = await run.start(("red", 1))
    await awaiting_fulfilment(handle)
    return handle


async def cancelled_while_reserve_retries(run: Run) -> Handle:
    run.shop.unreachable_times = 4
    handle = await run.start(("red", 1))
    await eventually(lambda: run.shop.reserve_attempts >= 2, within=30)
    await handle.signal(PlaceOrderWorkflow.cancel, "Too slow")
    await ends(handle, "CANCELLED")
    return handle


async def cancel_signalled_while_reserve_retries(run: Run) -> Handle:
    """Still open: the cancel has arrived but the step it waits for keeps failing."""
    run.shop.unreachable_times = 1_000_000
    handle = await run.start(("red", 1))
    await eventually(lambda: run.shop.reserve_attempts >= 2, within=30)
    await handle.signal(PlaceOrderWorkflow.cancel, "Too slow")
    await eventually(lambda: _signal_handled(handle), within=30)
    return handle


async def cart_awaiting_fulfilment(run: Run) -> Handle:
    handle = await run.start(("red", 2), ("blue", 1), cart_id="cart-1")
    await awaiting_fulfilment(handle)
    return handle


async def cancellation_window_expired(run: Run) -> Handle:
    """Nobody cancels or ships: the saga ends when its window closes (the server skips the 30 days)."""
    handle = await run.start(("red", 1))
    await ends(handle, "PAID")
    return handle


SCENARIOS: dict[str, Callable[[Run], Awaitable[Handle]]] = {
    "card-shipped": card_shipped,
    "cash-awaiting-fulfilment": cash_awaiting_fulfilment,
    "card-cancelled": card_cancelled,
    "card-declined": card_declined,
    "second-line-out-of-stock": second_line_out_of_stock,
    "reserve-retried-awaiting-fulfilment": reserve_retried_awaiting_fulfilment,
    "cancelled-while-reserve-retries": cancelled_while_reserve_retries,
    "cancel-signalled-while-reserve-retries": cancel_signalled_while_reserve_retries,
    "cart-awaiting-fulfilment": cart_awaiting_fulfilment,
    "cancellation-window-expired": cancellation_window_expired,
    "shipped-awaiting-delivery": shipped_awaiting_delivery,
    "statuses-out-of-order": statuses_out_of_order,
    "cancelling-then-cancelled": cancelling_then_cancelled,
}
SKIPS_TIME = {"cancellation-window-expired"}  # recorded on the time-skipping test server


async def _signal_handled(handle: Handle) -> bool:
    """The workflow has taken in the last signal: a workflow task completed after it."""
    types = [event.event_type for event in (await handle.fetch_history()).events]
    signalled = _last(types, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    return signalled >= 0 and _last(types, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) > signalled


def _last(types: list[EventType.ValueType], wanted: EventType.ValueType) -> int:
    return max((i for i, kind in enumerate(types) if kind == wanted), default=-1)


async def _settled_history(handle: Handle) -> WorkflowHistory:
    """The history once no workflow task is in flight, so an open one ends where the worker left it."""
    while True:
        history = await handle.fetch_history()
        types = [event.event_type for event in history.events]
        in_flight = max(_last(types, kind) for kind in _TASK_IN_FLIGHT)
        if _last(types, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) > in_flight:
            return history
        await asyncio.sleep(0.1)


_TASK_IN_FLIGHT = (
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
)


async def record(client: Client, name: str) -> tuple[WorkflowHistory, bool]:
    """Run one scenario on a fresh worker; returns its history and whether the order is still open."""
    shop, payments = FakeShop({"red": 10, "blue": 1}), PaymentActivities(SandboxPayments())
    queue = f"record-{uuid.uuid4().hex}"
    async with Worker(
        client, task_queue=queue, workflows=[PlaceOrderWorkflow], activities=shop.activities(payments)
    ):
        handle = await asyncio.wait_for(SCENARIOS[name](Run(client, queue, shop)), timeout=60)
        history = await _settled_history(handle)
        running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        if running:
            await handle.terminate("history recorded")
    return history, running


async def record_all(names: list[str]) -> dict[str, tuple[WorkflowHistory, bool]]:
    """Each scenario on its server: the real one, or the time-skipping one for those in SKIPS_TIME."""
    async with AsyncExitStack() as servers:
        clients: dict[bool, Client] = {}

        async def client_for(name: str) -> Client:
            skips = name in SKIPS_TIME
            if skips not in clients:
                if skips:
                    env = await servers.enter_async_context(time_skipping_environment())
                    clients[skips] = env.client
                else:
                    address = servers.enter_context(temporal_server())
                    clients[skips] = await Client.connect(address, data_converter=pydantic_data_converter)
            return clients[skips]

        return {name: await record(await client_for(name), name) for name in names}


@contextmanager
def temporal_server() -> Iterator[str]:
    """The run's Temporal server when COMMERCE_TEST_TEMPORAL_ADDRESS answers, else a dev server of ours."""
    address = os.environ.get("COMMERCE_TEST_TEMPORAL_ADDRESS")
    if address and answers(address):
        yield address
        return
    with TemporaryDirectory() as workdir, temporal_dev_server(Path(workdir)) as started:
        yield started


def main() -> None:
    """Record the chosen scenarios (default: all) as `<out>/<version>-<scenario>.json`."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("version", help="prefix of the files, e.g. v2")
    parser.add_argument("--out", type=Path, default=HISTORIES, help=f"directory (default {HISTORIES})")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("temporalio").setLevel(logging.ERROR)  # the scenarios' retried failures are expected
    log.info("recording %s from %s", args.version, place_order.__file__)
    recorded = asyncio.run(record_all(args.scenario or list(SCENARIOS)))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (history, running) in recorded.items():
        path = args.out / f"{args.version}-{name}.json"
        path.write_text(history.to_json() + "\n")
        log.info("%s: %d events, %s", path, len(history.events), "open" if running else "closed")


if __name__ == "__main__":
    main()
