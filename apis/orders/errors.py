"""What the orders service refuses, as the kit's error family."""

from __future__ import annotations

from typing import Any

from contracts.orders import (
    INVALID_RETURN_TRANSITION,
    INVALID_STATUS_TRANSITION,
    ORDER_CANCELLING,
    ORDER_NOT_CANCELLABLE,
    PAYMENT_DECLINED,
)
from contracts.products import VARIANT_NOT_FOUND
from kit.errors import AppError, BadRequest, Conflict, NotFound, Unauthorized


class OrderNotFound(NotFound):
    default_code = "OrderNotFound"

    def __init__(self, order_id: str = "") -> None:
        super().__init__("Order not found or permission denied.", details=[{"orderId": order_id}])


class InvalidTransition(Conflict):
    default_code = INVALID_STATUS_TRANSITION

    def __init__(self, current: str, new: str) -> None:
        self.current = current
        super().__init__(
            f"Order status cannot change from '{current}' to '{new}'.",
            details=[{"from": current, "to": new}],
        )


class OrderCancelling(Conflict):
    """The saga reports the order placed, but a cancellation won it first: the saga must unwind."""

    default_code = ORDER_CANCELLING

    def __init__(self) -> None:
        super().__init__("The order is being cancelled.")


class NotCancellable(Conflict):
    default_code = ORDER_NOT_CANCELLABLE

    def __init__(self, status: str) -> None:
        super().__init__(f"Order cannot be cancelled. Status: '{status}'.")


class VariantUnavailable(BadRequest):
    default_code = VARIANT_NOT_FOUND

    def __init__(self, variant_ids: list[str]) -> None:
        super().__init__(
            f"Product variant with ID {', '.join(variant_ids)} not found or is invalid.",
            details=[{"variantId": variant_id} for variant_id in variant_ids],
        )


class EmptyCart(BadRequest):
    default_code = "EmptyCart"

    def __init__(self, cart_id: str) -> None:
        super().__init__(f"Cart {cart_id} has no items to order.", details=[{"field": "cartId"}])


class PaymentDeclined(AppError):
    status_code = 402
    default_code = PAYMENT_DECLINED


class OrderFailed(Conflict):
    """The saga failed for a business reason (insufficient stock): 409 with what it reported."""

    def __init__(self, message: str, code: str, details: list[Any] | None) -> None:
        super().__init__(message, code=code, details=details)


class GuestTokenRequired(Unauthorized):
    default_code = "AuthenticationRequired"

    def __init__(self) -> None:
        super().__init__("Authentication is required.")


class ReturnNotFound(NotFound):
    default_code = "ReturnNotFound"

    def __init__(self, return_id: str = "") -> None:
        super().__init__("Return request not found.", details=[{"returnId": return_id}])


class NotReturnable(Conflict):
    default_code = "OrderNotReturnable"

    def __init__(self, status: str) -> None:
        super().__init__(f"Order status '{status}' is not returnable.", details=[{"status": status}])


class InvalidReturnItem(BadRequest):
    """A line not of this order, named twice, or more units than the order has left to return."""

    default_code = "InvalidReturnItem"

    def __init__(self, order_item_id: str, why: str, **facts: int) -> None:
        super().__init__(
            f"Invalid item or quantity for {order_item_id}: {why}.",
            details=[{"field": "items", "orderItemId": order_item_id, **facts}],
        )


class InvalidReturnTransition(Conflict):
    default_code = INVALID_RETURN_TRANSITION

    def __init__(self, current: str, new: str) -> None:
        super().__init__(
            f"Return status cannot change from '{current}' to '{new}'.",
            details=[{"from": current, "to": new}],
        )
