"""The order-placement saga: reserve stock item by item, charge the card, clear the cart, confirm; on any
failure undo what was done, in reverse. The workflow then stays open while the order can still be
cancelled, so a cancellation (which the orders service has already won: the order is CANCELLING) runs the
same compensations, and once the order ships, until it is delivered: its `OrderStatus` search attribute
follows every status (the orders service signals `order_status` on each change the saga does not make),
so operators list orders by status in the Web UI. The attribute only moves forward along the order's state
machine (`contracts.orders.TRANSITIONS`): a late, repeated or out-of-order signal changes nothing.

Orchestration only: every effect is an activity (a local one: see `_call`), retried with backoff up to a
bounded number of attempts; business refusals (`InsufficientStock`, `VariantNotFound`, `PaymentDeclined`)
are not retried. Timeouts and retry policies are this module's constants, never fields of the input. Each
compensation runs on its own: one that keeps failing is parked for an operator (on the order, in the
workflow's memo and `current_step`) and retried on the `retry_compensations` signal. A status report is
the one step never given up: it is retried until the orders service answers.

Open orders live for weeks: any change to the commands this workflow issues goes behind
`workflow.patched(...)` (the names below), and tests/workflows/test_place_order_replay.py replays the
recorded histories of earlier versions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.exceptions import TimeoutError as StepTimedOut
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ConfigDict

    from activities.carts import CartActivities
    from activities.inventory import InventoryActivities, StockChange
    from activities.orders import OrderActivities
    from activities.payments import Charge, PaymentActivities
    from contracts import orders, products
    from contracts.orders import OrderStatus, PaymentMethod, StatusReport
    from kit.outbox import WorkflowSignal, WorkflowStart

WORKFLOW = "PlaceOrderWorkflow"
TASK_QUEUE = "orders"
CANCEL_SIGNAL = "cancel"
FULFILMENT_SIGNAL = "fulfilment_started"
RETRY_COMPENSATIONS_SIGNAL = "retry_compensations"
ORDER_STATUS_SIGNAL = "order_status"
CURRENT_STEP_QUERY = "current_step"
AWAITING_FULFILMENT = "awaiting fulfilment"  # the step of a placed order, until it ships or is cancelled
AWAITING_DELIVERY = "awaiting delivery"  # the step of a shipped order
ORDER_ID = SearchAttributeKey.for_keyword("OrderId")
CUSTOMER_EMAIL = SearchAttributeKey.for_keyword("CustomerEmail")
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
BUSINESS_REFUSALS = [
    products.INSUFFICIENT_STOCK,
    products.VARIANT_NOT_FOUND,
    orders.PAYMENT_DECLINED,
    orders.INVALID_STATUS_TRANSITION,
    orders.ORDER_CANCELLING,
]
STEP_TIMEOUT = timedelta(seconds=10)  # one attempt of one activity
FIRST_RETRY = timedelta(milliseconds=200)
MAX_RETRY_INTERVAL = timedelta(seconds=30)
STEP_ATTEMPTS = 8  # a forward step gives up after these (about a minute of backoff): the order fails
COMPENSATION_ATTEMPTS = 12  # then a compensation is parked for an operator (about five minutes)
REPORT_ATTEMPTS = 0  # unlimited: every status is written, once the orders service answers (see `_report`)
LOCAL_RETRY_THRESHOLD = timedelta(seconds=1)  # a local step's longer backoffs are durable timers
CANCEL_WINDOW = timedelta(days=30)  # a placed order can be cancelled until it ships, or for this long
DELIVERY_WINDOW = timedelta(days=60)  # a shipped order is followed until delivered, or for this long

# Changes to the commands issued, each behind its patch so that open workflows replay as they ran.
CLEAR_CART_FIRST = "clear-cart-before-confirming"  # a 201 means the cart is already empty
CANCEL_INTERRUPTS_STEP = "cancel-interrupts-step"  # a cancel does not wait for a step's retries
CANCELLED_BEFORE_START = "cancelled-before-start"  # a run started by the cancel gives everything back
LOCAL_STEPS = "local-steps"  # forward steps and reports as local activities: no server round trip each
FOLLOW_TO_DELIVERY = "follow-to-delivery"  # a shipped order's saga stays open until it is delivered


# How a step that gave up reaches the workflow: wrapped in an ActivityError from a (regular) activity,
# as the refusal or timeout itself from a local one.
STEP_FAILURES = (ActivityError, ApplicationError, StepTimedOut)


def refusal(error: BaseException) -> ApplicationError | None:
    """The application error a failed step raised (its `type` is the refusal code), if that is what it was."""
    if isinstance(error, ApplicationError):
        return error
    cause = error.cause if isinstance(error, ActivityError) else None
    return cause if isinstance(cause, ApplicationError) else None


def workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    variant_id: str
    quantity: int


class PlaceOrderInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    lines: list[OrderLine]
    payment_method: PaymentMethod
    amount: str
    customer_email: str
    payment_token: str | None = None
    cart_id: str | None = None


class PlaceOrderResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: OrderStatus
    reason: str | None = None


def start(order: PlaceOrderInput, *, cancel: str | None = None) -> WorkflowStart:
    """The order's saga, to start through the outbox; with `cancel`, the cancel signal, sent with-start: it
    reaches the running saga, or starts one that only gives back what the order may hold. It is listed by
    its search attributes from its start, so a saga no worker has run yet is found PENDING too.
    """
    return WorkflowStart(
        workflow=WORKFLOW,
        id=workflow_id(order.order_id),
        task_queue=TASK_QUEUE,
        args=[order.model_dump(mode="json")],
        signal=None if cancel is None else CANCEL_SIGNAL,
        signal_args=[] if cancel is None else [cancel],
        search_attributes={
            ORDER_ID.name: order.order_id,
            CUSTOMER_EMAIL.name: order.customer_email,
            ORDER_STATUS.name: OrderStatus.PENDING.value,
        },
    )


def status_changed(order_id: str, status: OrderStatus) -> WorkflowSignal:
    """The `order_status` signal for a change the saga did not make (staff shipped the order, a customer
    cancelled it), to send through the outbox in the change's transaction.
    """
    return WorkflowSignal(workflow_id=workflow_id(order_id), signal=ORDER_STATUS_SIGNAL, args=[status.value])


class CancelRequested(Exception):
    """A cancellation arrived while the saga was still placing the order."""


Compensation = tuple[str, Callable[[], Awaitable[None]]]


@dataclass
class _Undo:
    """Compensations, run in reverse. Each is pushed *before* its step runs: a step that timed out may
    still have happened, and every compensation is safe when its step did not (it gives back only what
    the order holds, refunds only what was charged).
    """

    steps: list[Compensation] = field(default_factory=list)


@workflow.defn(name=WORKFLOW)
class PlaceOrderWorkflow:
    def __init__(self) -> None:
        self._step = "received"
        self._cancel_reason: str | None = None
        self._fulfilment_started = False
        self._retry_requested = False
        self._status = OrderStatus.PENDING  # the order's status as the OrderStatus search attribute has it
        self._attributes_set = False

    @workflow.run
    async def run(self, order: PlaceOrderInput) -> PlaceOrderResult:
        workflow.upsert_search_attributes(
            [
                ORDER_ID.value_set(order.order_id),
                CUSTOMER_EMAIL.value_set(order.customer_email),
                ORDER_STATUS.value_set(self._status),  # PENDING, or what a signal ahead of this said
            ]
        )
        self._attributes_set = True
        if self._cancel_reason is not None and workflow.patched(CANCELLED_BEFORE_START):
            # Started by the cancel itself (no run was open): give back whatever the order may hold.
            return await self._unwind(
                order, self._every_compensation(order), OrderStatus.CANCELLED, self._cancel_reason
            )
        undo = _Undo()
        try:
            status, transaction_id = await self._place(order, undo)
            placed = StatusReport(order_id=order.order_id, status=status, transaction_id=transaction_id)
            if order.cart_id and workflow.patched(CLEAR_CART_FIRST):
                await self._clear_cart(order)
                await self._report(placed)
            else:
                await self._report(placed)
                if order.cart_id:
                    await self._clear_cart(order)
        except CancelRequested:
            return await self._unwind(order, undo, OrderStatus.CANCELLED, self._cancel_reason)
        except STEP_FAILURES as error:
            cause = refusal(error)
            if cause is not None and cause.type == orders.ORDER_CANCELLING:
                return await self._unwind(order, undo, OrderStatus.CANCELLED, self._cancel_reason)
            details = list(cause.details) if cause and cause.details else None
            code = cause.type if cause else None
            reason = cause.message if cause else str(error)
            return await self._unwind(order, undo, OrderStatus.FAILED, reason, code=code, details=details)
        self._step = AWAITING_FULFILMENT
        try:
            await workflow.wait_condition(
                lambda: self._cancel_reason is not None or self._fulfilment_started, timeout=CANCEL_WINDOW
            )
        except TimeoutError:
            return PlaceOrderResult(status=status)
        if self._cancel_reason is not None:
            return await self._unwind(order, undo, OrderStatus.CANCELLED, self._cancel_reason)
        if not workflow.patched(FOLLOW_TO_DELIVERY):
            return PlaceOrderResult(status=status)
        self._step = AWAITING_DELIVERY
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._status in orders.FINAL, timeout=DELIVERY_WINDOW)
        return PlaceOrderResult(status=self._status)

    async def _place(self, order: PlaceOrderInput, undo: _Undo) -> tuple[OrderStatus, str | None]:
        """Reserve every line, then charge a card order; returns the status to confirm."""
        self._step = "reserving stock"
        for line in order.lines:
            change = StockChange(order_id=order.order_id, variant_id=line.variant_id, quantity=line.quantity)
            undo.steps.append(self._release(change))
            await self._forward(InventoryActivities.reserve_stock, change)
            self._stop_if_cancelled()
        if order.payment_method != PaymentMethod.CREDIT_CARD:
            return OrderStatus.CONFIRMED, None
        self._step = "charging the card"
        charge = _charge(order)
        undo.steps.append(self._refund(charge))
        transaction_id: str = await self._forward(PaymentActivities.charge_payment, charge)
        self._stop_if_cancelled()
        return OrderStatus.PAID, transaction_id

    def _release(self, change: StockChange) -> Compensation:
        return "releasing stock", partial(
            self._call,
            InventoryActivities.release_stock,
            change,
            attempts=COMPENSATION_ATTEMPTS,
            local=False,
        )

    def _refund(self, charge: Charge) -> Compensation:
        return "refunding the payment", partial(
            self._call,
            PaymentActivities.refund_payment,
            charge,
            attempts=COMPENSATION_ATTEMPTS,
            local=False,
        )

    def _every_compensation(self, order: PlaceOrderInput) -> _Undo:
        """All a placement may have done, to undo (each compensation is safe if its step never ran)."""
        changes = [
            StockChange(order_id=order.order_id, variant_id=line.variant_id, quantity=line.quantity)
            for line in order.lines
        ]
        undo = _Undo([self._release(change) for change in changes])
        if order.payment_method == PaymentMethod.CREDIT_CARD:
            undo.steps.append(self._refund(_charge(order)))
        return undo

    async def _clear_cart(self, order: PlaceOrderInput) -> None:
        """Empty the cart the order came from; a cart service that stays down does not fail the order."""
        self._step = "clearing the cart"
        try:
            await self._call(CartActivities.clear_cart, order.cart_id)
        except STEP_FAILURES as error:
            workflow.logger.warning(
                "cart not cleared", extra={"orderId": order.order_id, "error": str(error)}
            )

    async def _unwind(
        self,
        order: PlaceOrderInput,
        undo: _Undo,
        status: OrderStatus,
        reason: str | None,
        *,
        code: str | None = orders.CANCELLED_CODE,
        details: list[object] | None = None,
    ) -> PlaceOrderResult:
        """Run every compensation in reverse, each on its own, then record the final status with those that
        failed; those wait, parked, for an operator's `retry_compensations` signal.
        """
        parked = await self._compensate(list(reversed(undo.steps)))
        report = StatusReport(
            order_id=order.order_id, status=status, reason=reason, code=code, details=details
        )
        await self._report(report.model_copy(update={"parked": _parked(parked)}))
        while parked:
            self._step = "awaiting an operator: " + "; ".join(f"{step}: {error}" for step, _, error in parked)
            workflow.upsert_memo({"parkedCompensations": _parked(parked)})
            await workflow.wait_condition(lambda: self._retry_requested)
            self._retry_requested = False
            parked = await self._compensate([(step, compensate) for step, compensate, _ in parked])
            await self._report(report.model_copy(update={"parked": _parked(parked)}))
            workflow.upsert_memo({"parkedCompensations": _parked(parked)})
        return PlaceOrderResult(status=status, reason=reason)

    async def _compensate(
        self, compensations: list[Compensation]
    ) -> list[tuple[str, Callable[[], Awaitable[None]], str]]:
        """Run each compensation; one that fails does not stop the others. Returns the failed ones."""
        failed = []
        for step, compensate in compensations:
            self._step = step
            try:
                await compensate()
            except STEP_FAILURES as error:
                cause = refusal(error) or error
                workflow.logger.warning("compensation parked", extra={"step": step, "error": str(cause)})
                failed.append((step, compensate, str(cause)))
        return failed

    async def _report(self, report: StatusReport) -> None:
        """Write the status, retried until the orders service answers (a refusal ends it). Never given up:
        a report whose answer was lost may have been recorded, and a placement then unwound would leave a
        PAID order without its stock (a FAILED report after it is refused).
        """
        self._step = f"marking the order {report.status}"
        await self._call(OrderActivities.set_order_status, report, attempts=REPORT_ATTEMPTS)
        self._follow(report.status, again=True)

    def _follow(self, status: OrderStatus, *, again: bool = False) -> None:
        """Move the OrderStatus search attribute to `status` if that comes after the one it has (`again`:
        or is the same, set once more, as a repeated report always did); a stale status is dropped.
        """
        if not (orders.comes_after(self._status, status) or (again and status == self._status)):
            return
        self._status = status
        if self._attributes_set:  # else the run's first upsert sets it
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(status)])

    def _stop_if_cancelled(self) -> None:
        if self._cancel_reason is not None:
            raise CancelRequested

    async def _forward(self, activity: Callable[..., Awaitable[Any]], argument: object) -> Any:
        """A placement step; a cancellation interrupts its retries (after the attempt in flight, if any,
        so that its compensation never runs before it)."""
        if not workflow.patched(CANCEL_INTERRUPTS_STEP):
            return await self._call(activity, argument)
        step = asyncio.ensure_future(self._call(activity, argument))
        await workflow.wait_condition(lambda: step.done() or self._cancel_reason is not None)
        if step.done():
            return step.result()
        step.cancel()
        with contextlib.suppress(*STEP_FAILURES, CancelledError, asyncio.CancelledError):
            await step
        raise CancelRequested

    @staticmethod
    async def _call(
        activity: Callable[..., Awaitable[Any]],
        argument: object,
        *,
        attempts: int = STEP_ATTEMPTS,
        local: bool = True,
    ) -> Any:
        """One activity with the saga's timeout and retry policy (backoff, bounded attempts, business
        refusals not retried); a cancelled one is waited for until its attempt in flight has ended.

        A forward step or a status report is a short, idempotent call to a service, so it runs as a local
        activity: in the worker that runs the workflow, its result recorded with the workflow task's
        completion instead of a task of its own scheduled, started and completed through the server.
        Its first retries happen in the worker; a backoff past `LOCAL_RETRY_THRESHOLD` is a durable timer.
        Compensations (`local=False`) stay regular activities: rare, and retried for minutes.
        """
        retry = RetryPolicy(
            initial_interval=FIRST_RETRY,
            backoff_coefficient=2.0,
            maximum_interval=MAX_RETRY_INTERVAL,
            maximum_attempts=attempts,
            non_retryable_error_types=BUSINESS_REFUSALS,
        )
        cancellation = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
        if local and workflow.patched(LOCAL_STEPS):
            return await workflow.execute_local_activity_method(
                activity,
                argument,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=retry,
                cancellation_type=cancellation,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            )
        return await workflow.execute_activity_method(
            activity,
            argument,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=retry,
            cancellation_type=cancellation,
        )

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self, reason: str) -> None:
        """Cancel the order: what was reserved or charged is given back."""
        if self._cancel_reason is None:
            self._cancel_reason = reason or "Cancelled"

    @workflow.signal(name=FULFILMENT_SIGNAL)
    def fulfilment_started(self) -> None:
        """The order shipped: it can no longer be cancelled, the saga is over."""
        self._fulfilment_started = True

    @workflow.signal(name=ORDER_STATUS_SIGNAL)
    def order_status(self, status: OrderStatus) -> None:
        """The orders service changed the order (staff shipped or delivered it, a cancellation won it): the
        search attribute follows. A status that does not come after the current one is dropped, so a
        repeated or late signal, or one for a status the saga already moved past, changes nothing.
        """
        if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            self._fulfilment_started = True
        self._follow(status)

    @workflow.signal(name=RETRY_COMPENSATIONS_SIGNAL)
    def retry_compensations(self) -> None:
        """An operator fixed what the parked compensations needed: run them again."""
        self._retry_requested = True

    @workflow.query(name=CURRENT_STEP_QUERY)
    def current_step(self) -> str:
        return self._step


def _charge(order: PlaceOrderInput) -> Charge:
    return Charge(order_id=order.order_id, amount=order.amount, token=order.payment_token)


def _parked(failed: list[tuple[str, Callable[[], Awaitable[None]], str]]) -> list[dict[str, str]] | None:
    """Parked compensations as the order and the memo show them."""
    return [{"step": step, "error": error[:300]} for step, _, error in failed] or None
