"""Stand-ins for the saga's activities, registered under the same names: a shop held in memory."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.inventory import StockChange
from activities.orders import StatusReport
from activities.payments import PaymentActivities
from workflows.place_order import OrderLine, PlaceOrderInput


def an_order(
    *lines: tuple[str, int],
    method: str = "CREDIT_CARD",
    token: str | None = None,
    cart_id: str | None = None,
    retry_every: float = 1,
    cancellable_for_days: float = 30.0,
) -> PlaceOrderInput:
    """A saga input for a new order of `lines` (variant, quantity), retrying every second at most."""
    return PlaceOrderInput(
        order_id=str(uuid.uuid4()),
        lines=[OrderLine(variant, quantity) for variant, quantity in lines],
        payment_method=method,
        amount="30.00",
        customer_email="ann@example.com",
        payment_token=token,
        cart_id=cart_id,
        max_retry_interval_seconds=retry_every,
        cancellable_for_days=cancellable_for_days,
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
        if not self.statuses or self.statuses[-1] != report:
            self.statuses.append(report)

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
