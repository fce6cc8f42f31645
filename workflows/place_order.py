"""The order-placement saga: reserve stock item by item, charge the card, confirm; on any failure undo
what was done, in reverse. The workflow then stays open while the order can still be cancelled, so a
cancellation runs the same compensations.

Orchestration only: every effect is an activity, retried with backoff; business refusals
(`InsufficientStock`, `VariantNotFound`, `PaymentDeclined`) are not retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carts import CartActivities
    from activities.inventory import InventoryActivities, StockChange
    from activities.orders import OrderActivities, StatusReport
    from activities.payments import Charge, PaymentActivities

ORDERS_TASK_QUEUE = "orders"
ORDER_ID = SearchAttributeKey.for_keyword("OrderId")
CUSTOMER_EMAIL = SearchAttributeKey.for_keyword("CustomerEmail")
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
BUSINESS_REFUSALS = ["InsufficientStock", "VariantNotFound", "PaymentDeclined", "InvalidStatusTransition"]


@dataclass(frozen=True)
class OrderLine:
    variant_id: str
    quantity: int


@dataclass(frozen=True)
class PlaceOrderInput:
    order_id: str
    lines: list[OrderLine]
    payment_method: str
    amount: str
    customer_email: str
    payment_token: str | None = None
    cart_id: str | None = None
    step_timeout_seconds: float = 10.0
    max_retry_interval_seconds: float = 30.0
    cancellable_for_days: float = 30.0


@dataclass(frozen=True)
class PlaceOrderResult:
    status: str
    reason: str | None = None


class CancelRequested(Exception):
    """A cancellation arrived while the saga was still placing the order."""


@dataclass
class _Undo:
    """Compensations, run in reverse. Each is pushed *before* its step runs: a step that timed out may
    still have happened, and every compensation is safe when its step did not (it gives back only what
    the order holds, refunds only what was charged).
    """

    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = field(default_factory=list)


@workflow.defn
class PlaceOrderWorkflow:
    def __init__(self) -> None:
        self._step = "received"
        self._cancel_reason: str | None = None
        self._fulfilment_started = False

    @workflow.run
    async def run(self, order: PlaceOrderInput) -> PlaceOrderResult:
        workflow.upsert_search_attributes(
            [
                ORDER_ID.value_set(order.order_id),
                CUSTOMER_EMAIL.value_set(order.customer_email),
                ORDER_STATUS.value_set("PENDING"),
            ]
        )
        undo = _Undo()
        try:
            status, transaction_id = await self._place(order, undo)
        except CancelRequested:
            return await self._unwind(order, undo, "CANCELLED", self._cancel_reason, code="OrderCancelled")
        except ActivityError as error:
            cause = error.cause if isinstance(error.cause, ApplicationError) else None
            details = list(cause.details) if cause and cause.details else None
            code = cause.type if cause else None
            reason = cause.message if cause else str(error)
            return await self._unwind(order, undo, "FAILED", reason, code=code, details=details)
        await self._report(order, StatusReport(order.order_id, status, transaction_id=transaction_id))
        if order.cart_id:
            self._step = "clearing the cart"
            await self._call(CartActivities.clear_cart, order.cart_id, order)
        self._step = "awaiting fulfilment"
        cancellable = timedelta(days=order.cancellable_for_days)
        try:
            await workflow.wait_condition(
                lambda: self._cancel_reason is not None or self._fulfilment_started, timeout=cancellable
            )
        except TimeoutError:
            return PlaceOrderResult(status)
        if self._cancel_reason is not None:
            return await self._unwind(order, undo, "CANCELLED", self._cancel_reason, code="OrderCancelled")
        return PlaceOrderResult(status)

    async def _place(self, order: PlaceOrderInput, undo: _Undo) -> tuple[str, str | None]:
        """Reserve every line, then charge a card order; returns the status to confirm."""
        self._step = "reserving stock"
        for line in order.lines:
            change = StockChange(order.order_id, line.variant_id, line.quantity)
            undo.steps.append(
                ("releasing stock", partial(self._call, InventoryActivities.release_stock, change, order))
            )
            await self._call(InventoryActivities.reserve_stock, change, order)
            self._stop_if_cancelled()
        if order.payment_method != "CREDIT_CARD":
            return "CONFIRMED", None
        self._step = "charging the card"
        charge = Charge(order.order_id, order.amount, order.payment_token)
        undo.steps.append(
            ("refunding the payment", partial(self._call, PaymentActivities.refund_payment, charge, order))
        )
        transaction_id: str = await self._call(PaymentActivities.charge_payment, charge, order)
        self._stop_if_cancelled()
        return "PAID", transaction_id

    async def _unwind(
        self,
        order: PlaceOrderInput,
        undo: _Undo,
        status: str,
        reason: str | None,
        *,
        code: str | None,
        details: list[object] | None = None,
    ) -> PlaceOrderResult:
        """Run the compensations in reverse, then record the final status with its reason."""
        for step, compensate in reversed(undo.steps):
            self._step = step
            await compensate()
        await self._report(
            order, StatusReport(order.order_id, status, reason=reason, code=code, details=details)
        )
        return PlaceOrderResult(status, reason)

    async def _report(self, order: PlaceOrderInput, report: StatusReport) -> None:
        self._step = f"marking the order {report.status}"
        await self._call(OrderActivities.set_order_status, report, order)
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(report.status)])

    def _stop_if_cancelled(self) -> None:
        if self._cancel_reason is not None:
            raise CancelRequested

    @staticmethod
    async def _call(activity: Callable[..., Awaitable[Any]], argument: object, order: PlaceOrderInput) -> Any:
        """One activity with the saga's timeout and retry policy (backoff, business refusals not retried)."""
        return await workflow.execute_activity_method(
            activity,
            argument,
            start_to_close_timeout=timedelta(seconds=order.step_timeout_seconds),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200),
                backoff_coefficient=2.0,
                maximum_interval=timedelta(seconds=order.max_retry_interval_seconds),
                non_retryable_error_types=BUSINESS_REFUSALS,
            ),
        )

    @workflow.signal
    def cancel(self, reason: str) -> None:
        """Cancel the order: what was reserved or charged is given back."""
        if self._cancel_reason is None:
            self._cancel_reason = reason or "Cancelled"

    @workflow.signal
    def fulfilment_started(self) -> None:
        """The order shipped: it can no longer be cancelled, the saga is over."""
        self._fulfilment_started = True

    @workflow.query
    def current_step(self) -> str:
        return self._step
