"""The return's workflow on Temporal's time-skipping test server, with a ledger and an orders service held in
memory and the sandbox payment provider: a completion started twice (the outbox's retry, a second COMPLETED
write) runs once, and an activity whose answer was lost and is retried restocks and refunds once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.inventory import Restock
from activities.orders import ReturnReport
from activities.payments import PaymentActivities, Refund, SandboxPayments
from contracts.orders import ReturnSettled
from contracts.products import restock_key
from kit.outbox import start_workflow
from workflows import returns
from workflows.returns import ReturnInput, ReturnLine, ReturnWorkflow


@dataclass
class FakeShop:
    """The ledger (idempotent by key, as the products service's) and the orders service's settle route."""

    held: dict[str, int]  # units of each variant the order still holds
    movements: dict[str, int] = field(default_factory=dict)  # restock key -> units
    settled: list[ReturnReport] = field(default_factory=list)
    lose_answers: int = 0  # this many calls are applied, then their answer is lost

    def _maybe_lose(self) -> None:
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise ConnectionError("the answer was lost")

    @activity.defn(name="restock_return")
    async def restock_return(self, line: Restock) -> int:
        key = restock_key(line.return_id, line.order_item_id)
        if key not in self.movements:
            if self.held.get(line.variant_id, 0) < line.quantity:
                return 0  # the ledger gives back no more than the order holds
            self.held[line.variant_id] -= line.quantity
            self.movements[key] = line.quantity
            self._maybe_lose()
        return self.movements[key]

    @activity.defn(name="settle_return")
    async def settle_return(self, report: ReturnReport) -> None:
        self.settled.append(report)


class LossySandbox(SandboxPayments):
    """The sandbox, whose first refund answers are lost after the refund is made."""

    lose_answers = 0

    async def refund_part(self, refund: Refund) -> str:
        refund_id = await super().refund_part(refund)
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise ConnectionError("the provider's answer was lost")
        return refund_id


@dataclass
class Returns:
    client: Client
    queue: str
    shop: FakeShop
    sandbox: LossySandbox

    async def complete(self, data: ReturnInput) -> None:
        """What the outbox does for a COMPLETED write: start the return's workflow (a duplicate: no-op)."""
        start = returns.start(data).model_copy(update={"task_queue": self.queue})
        await start_workflow(self.client, start)

    async def completed(self, data: ReturnInput) -> ReturnSettled:
        await self.complete(data)
        return await self.result(data)

    async def result(self, data: ReturnInput) -> ReturnSettled:
        handle = self.client.get_workflow_handle_for(ReturnWorkflow.run, returns.workflow_id(data.return_id))
        return await handle.result()


@pytest.fixture
async def shop(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Returns]:
    client, queue = time_skipping_env.client, f"orders-{uuid.uuid4().hex}"
    fake, sandbox = FakeShop({"red": 3, "blue": 1}), LossySandbox()
    payments = PaymentActivities(sandbox)
    activities: list[Callable[..., Any]] = [fake.restock_return, fake.settle_return, payments.refund_return]
    async with Worker(client, task_queue=queue, workflows=[ReturnWorkflow], activities=activities):
        yield Returns(client, queue, fake, sandbox)


def a_return(amount: str | None = "60.00", **lines: int) -> ReturnInput:
    return ReturnInput(
        return_id=str(uuid.uuid4()),
        order_id="o-1",
        lines=[ReturnLine(order_item_id=f"i-{v}", variant_id=v, quantity=q) for v, q in lines.items()],
        refund_amount=amount,
    )


async def test_a_completion_sent_twice_restocks_once_and_refunds_once(shop: Returns) -> None:
    data = a_return(red=2, blue=1)
    await shop.complete(data)
    await shop.complete(data)  # while it runs
    settled = await shop.result(data)
    await shop.complete(data)  # after it ended
    assert settled == ReturnSettled(restocked_units=3, refunded_amount="60.00", refund_id=settled.refund_id)
    assert shop.shop.movements == {f"return-{data.return_id}-i-red": 2, f"return-{data.return_id}-i-blue": 1}
    assert shop.sandbox.partial_refunds == {data.return_id: Decimal("60.00")}
    assert [r.settled for r in shop.shop.settled] == [settled]
    assert await shop.result(data) == settled  # the one run, still the only one


async def test_retried_steps_whose_answers_were_lost_restock_and_refund_once(shop: Returns) -> None:
    shop.shop.lose_answers, shop.sandbox.lose_answers = 1, 2
    data = a_return("50.00", red=2)
    settled = await shop.completed(data)
    assert settled.restocked_units == 2
    assert shop.shop.movements == {f"return-{data.return_id}-i-red": 2}
    assert shop.shop.held == {"red": 1, "blue": 1}
    assert shop.sandbox.partial_refunds == {data.return_id: Decimal("50.00")}


async def test_two_returns_of_one_order_each_refund_their_own_amount(shop: Returns) -> None:
    first, second = a_return("25.00", red=1), a_return("35.00", red=1, blue=1)
    for data in (first, second):
        await shop.completed(data)
    assert shop.sandbox.partial_refunds == {
        first.return_id: Decimal("25.00"),
        second.return_id: Decimal("35.00"),
    }


async def test_a_cash_return_restocks_and_refunds_nothing(shop: Returns) -> None:
    data = a_return(None, red=1)
    settled = await shop.completed(data)
    assert settled == ReturnSettled(restocked_units=1, refunded_amount=None, refund_id=None)
    assert shop.sandbox.partial_refunds == {}


async def test_units_the_ledger_no_longer_holds_are_not_restocked_but_the_refund_goes_on(
    shop: Returns,
) -> None:
    data = a_return("75.00", red=5)  # more than the order holds: the ledger gives back nothing
    settled = await shop.completed(data)
    assert (settled.restocked_units, settled.refunded_amount) == (0, "75.00")
    assert shop.shop.held == {"red": 3, "blue": 1}
