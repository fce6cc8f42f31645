"""Stand-ins for the saga's activities, registered under the same names: a shop held in memory, and a
worker running the saga with them."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.inventory import StockChange
from activities.payments import Charge, PaymentActivities, SandboxPayments
from contracts.orders import StatusReport
from workflows.place_order import OrderLine, PlaceOrderInput, PlaceOrderResult, PlaceOrderWorkflow

Handle = WorkflowHandle[PlaceOrderWorkflow, PlaceOrderResult]


def an_order(
    *lines: tuple[str, int],
    method: str = "CREDIT_CARD",
    token: str | None = None,
    cart_id: str | None = None,
) -> PlaceOrderInput:
    """A saga input for a new order of `lines` (variant, quantity)."""
    return PlaceOrderInput(
        order_id=str(uuid.uuid4()),
        lines=[OrderLine(variant_id=variant, quantity=quantity) for variant, quantity in lines],
        payment_method=method,
        amount="30.00",
        customer_email="ann@example.com",
        payment_token=token,
        cart_id=cart_id,
    )


class FakeShop:
    def __init__(self, stock: dict[str, int], *, unreachable_times: int = 0) -> None:
        self.stock = dict(stock)
        self.reserved: dict[tuple[str, str], int] = {}
        self.statuses: list[StatusReport] = []
        self.cleared: list[str] = []
        self.unreachable_times = unreachable_times
        self.reserve_attempts = 0
        self.calls: list[str] = []  # activity names, in the order the saga ran them
        self.cancelling = False  # the orders service: a cancellation has won the order
        self.answers_lost = 0  # the orders service records this many reports, then the answer is lost

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, change: StockChange) -> None:
        self.calls.append("reserve_stock")
        self.reserve_attempts += 1
        if self.unreachable_times > 0:
            self.unreachable_times -= 1
            raise ConnectionError("products service unreachable")
        key = (change.order_id, change.variant_id)
        if key in self.reserved:
            return
        available = self.stock[change.variant_id]
        if available < change.quantity:
            details = {"variantId": change.variant_id, "requested": change.quantity, "available": available}
            raise ApplicationError(
                "Insufficient stock", details, type="InsufficientStock", non_retryable=True
            )
        self.stock[change.variant_id] -= change.quantity
        self.reserved[key] = change.quantity

    @activity.defn(name="release_stock")
    async def release_stock(self, change: StockChange) -> None:
        self.calls.append("release_stock")
        held = self.reserved.pop((change.order_id, change.variant_id), 0)
        self.stock[change.variant_id] += held

    @activity.defn(name="set_order_status")
    async def set_order_status(self, report: StatusReport) -> None:
        self.calls.append(f"set_order_status:{report.status}")
        if self.cancelling and report.status in ("PAID", "CONFIRMED"):
            raise ApplicationError(
                "The order is being cancelled.", type="OrderCancelling", non_retryable=True
            )
        placed = bool(self.statuses) and self.statuses[-1].status in ("PAID", "CONFIRMED")
        if placed and report.status == "FAILED":  # as the orders service's state machine refuses it
            raise ApplicationError(
                "Invalid status transition.", type="InvalidStatusTransition", non_retryable=True
            )
        if not self.statuses or self.statuses[-1] != report:
            self.statuses.append(report)
        if self.answers_lost > 0:
            self.answers_lost -= 1
            raise ConnectionError("orders service: the answer was lost")

    @activity.defn(name="clear_cart")
    async def clear_cart(self, cart_id: str) -> None:
        self.calls.append("clear_cart")
        self.cleared.append(cart_id)

    def activities(self, payments: PaymentActivities) -> list[Callable[..., Any]]:
        """Every activity the saga calls: this shop's, and the payments' under test."""
        return [
            self.reserve_stock,
            self.release_stock,
            self.set_order_status,
            self.clear_cart,
            payments.charge_payment,
            payments.refund_payment,
        ]


class RepairableSandbox(SandboxPayments):
    """The sandbox provider, whose refunds can be broken until an operator repairs them."""

    refunds_broken = False

    async def refund(self, charge: Charge) -> None:
        if self.refunds_broken:
            raise ConnectionError("refunds are down")
        await super().refund(charge)


@dataclass
class Saga:
    """The saga's worker on a task queue of its own, with a shop of red (10) and blue (1) in stock."""

    client: Client
    queue: str
    shop: FakeShop
    sandbox: RepairableSandbox
    started: list[Handle] = field(default_factory=list)

    async def start(self, *lines: tuple[str, int], **options: Any) -> Handle:
        order = an_order(*lines, **options)
        handle = await self.client.start_workflow(
            PlaceOrderWorkflow.run, order, id=f"order-{order.order_id}", task_queue=self.queue
        )
        self.started.append(handle)
        return handle


@contextlib.asynccontextmanager
async def running_saga(client: Client) -> AsyncIterator[Saga]:
    """A `Saga` while its worker runs; the orders it started and left open are then terminated (on the
    time-skipping server an open order's timer, with no worker left, would hold the clock of later tests).
    """
    shop, sandbox = FakeShop({"red": 10, "blue": 1}), RepairableSandbox()
    queue = f"orders-{uuid.uuid4().hex}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[PlaceOrderWorkflow],
        activities=shop.activities(PaymentActivities(sandbox)),
    ):
        saga = Saga(client, queue, shop, sandbox)
        try:
            yield saga
        finally:
            for handle in saga.started:
                with contextlib.suppress(RPCError):  # it has ended
                    await handle.terminate("test over")
