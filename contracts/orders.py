"""The orders service's seam: order and return statuses, what it publishes on `order_events` (key: the order
id; the return id for a return's events), the refusal codes the workflows act on, and the client they report
with (service credentials).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from kit.clients import ServiceClient
from kit.schemas import Schema

SERVICE = "orders"
# Each order event's payload is the order as read (`GET /orders/{id}`, names in English, no guest token);
# each of its `items` also carries `productNames` (every language) and `costPriceAtTimeOfOrder` (the
# statistics' expenses; null when the variant had none), which no answer shows.
ORDER_EVENTS = "order_events"

ORDER_CREATED = "ORDER_CREATED"
ORDER_FAILED = "ORDER_FAILED"
ORDER_CANCELLED = "ORDER_CANCELLED"
ORDER_SHIPPED = "ORDER_SHIPPED"
ORDER_DELIVERED = "ORDER_DELIVERED"
# A return's updates (payload: the return as the API shows it, with `orderId` and `customerEmail`), mailed by
# the notifications consumer.
RETURN_REQUEST_CREATED = "RETURN_REQUEST_CREATED"
RETURN_REQUEST_APPROVED = "RETURN_REQUEST_APPROVED"
RETURN_REQUEST_REJECTED = "RETURN_REQUEST_REJECTED"
RETURN_REQUEST_COMPLETED = "RETURN_REQUEST_COMPLETED"
# A comment on a return (payload: the return as above, its `comments` included, and `comment`, the new one);
# the customer is mailed a staff comment, once per comment id.
RETURN_REQUEST_COMMENT_ADDED = "RETURN_REQUEST_COMMENT_ADDED"

# Refusal codes (and the failure code of an order that was cancelled).
ORDER_CANCELLING = "OrderCancelling"  # a cancellation won the order first: the saga must unwind
INVALID_STATUS_TRANSITION = "InvalidStatusTransition"
ORDER_NOT_CANCELLABLE = "OrderNotCancellable"
PAYMENT_DECLINED = "PaymentDeclined"
CANCELLED_CODE = "OrderCancelled"

INVALID_RETURN_TRANSITION = "InvalidReturnTransition"

# The permissions of the returns' staff routes (granted by the auth service's seed).
READ_RETURNS = "read:returns"  # every return
WRITE_RETURNS = "write:returns"  # approve, reject, complete, comment as staff

STATUS_REPORT_PATH = "/internal/orders/{orderId}/status"
RETURN_SETTLED_PATH = "/internal/returns/{returnId}/settled"
# GET ?userId=&productId= -> {"verified": bool}: whether the user has a DELIVERED order holding the product
VERIFIED_PURCHASE_PATH = "/internal/purchases/verified"


class OrderStatus(StrEnum):
    PENDING = "PENDING"  # the saga is reserving stock and charging
    CONFIRMED = "CONFIRMED"  # stock reserved, cash on delivery: to be shipped
    PAID = "PAID"  # stock reserved and the card charged: to be shipped
    CANCELLING = "CANCELLING"  # a cancellation won the order; the saga is giving back stock and money
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # the saga could not complete; what it did was undone
    CANCELLED = "CANCELLED"


S = OrderStatus
# The state machine: the statuses each one may move to. The orders service guards every change with it
# (apis/orders/rules.py); the saga uses it to keep its `OrderStatus` search attribute from moving back.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.PAID, S.FAILED, S.CANCELLING}),
    S.CONFIRMED: frozenset({S.SHIPPED, S.CANCELLING}),
    S.PAID: frozenset({S.SHIPPED, S.CANCELLING}),
    S.CANCELLING: frozenset({S.CANCELLED, S.FAILED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
FINAL = frozenset(status for status, after in TRANSITIONS.items() if not after)
del S


def comes_after(current: OrderStatus, new: OrderStatus) -> bool:
    """True if an order at `current` can reach `new` by one or more changes. The machine has no cycle, so
    a status that does not come after the current one is behind it or on another branch: a stale report.
    """
    seen, frontier = set[OrderStatus](), set(TRANSITIONS[current])
    while frontier:
        status = frontier.pop()
        if status == new:
            return True
        seen.add(status)
        frontier |= TRANSITIONS[status] - seen
    return False


class ReturnStatus(StrEnum):
    """A return request's statuses (the seed's names): staff approve or reject it, then complete an approved
    one once its units are back, which starts its `ReturnWorkflow` (restock, refund). A staff comment on a
    pending return waits for the customer's answer, and the customer's reply puts it back to staff.
    """

    PENDING_APPROVAL = "PENDING_APPROVAL"  # requested by the customer, waiting for staff
    AWAITING_CUSTOMER_RESPONSE = "AWAITING_CUSTOMER_RESPONSE"  # staff asked the customer something
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"  # its units count no more against what the order may still return
    COMPLETED = "COMPLETED"  # the units are back: restocked and refunded by the workflow


class CommentRole(StrEnum):
    """Who wrote a return's comment: its customer (or guest), or staff holding `write:returns`."""

    STAFF = "staff"
    CUSTOMER = "customer"


R = ReturnStatus
# What staff may set (`PUT /orders/admin/returns/{id}`); the two waiting statuses move by comments only.
RETURN_TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    R.PENDING_APPROVAL: frozenset({R.APPROVED, R.REJECTED}),
    R.AWAITING_CUSTOMER_RESPONSE: frozenset({R.APPROVED, R.REJECTED}),
    R.APPROVED: frozenset({R.COMPLETED}),
    R.REJECTED: frozenset(),
    R.COMPLETED: frozenset(),
}
RETURN_EVENTS: dict[ReturnStatus, str] = {
    R.PENDING_APPROVAL: RETURN_REQUEST_CREATED,
    R.APPROVED: RETURN_REQUEST_APPROVED,
    R.REJECTED: RETURN_REQUEST_REJECTED,
    R.COMPLETED: RETURN_REQUEST_COMPLETED,
}
# What a comment does to the status: a staff question waits for the customer, their reply goes back to staff.
COMMENT_MOVES: dict[tuple[CommentRole, ReturnStatus], ReturnStatus] = {
    (CommentRole.STAFF, R.PENDING_APPROVAL): R.AWAITING_CUSTOMER_RESPONSE,
    (CommentRole.CUSTOMER, R.AWAITING_CUSTOMER_RESPONSE): R.PENDING_APPROVAL,
}
del R


class PaymentMethod(StrEnum):
    CREDIT_CARD = "CREDIT_CARD"
    CASH_ON_DELIVERY = "CASH_ON_DELIVERY"


class SagaReport(Schema):
    """The body of a status report; the orders service guards the transition (the status an order already
    has is accepted as done, so a retried report changes nothing).
    """

    model_config = ConfigDict(frozen=True)

    status: OrderStatus
    reason: str | None = Field(default=None, max_length=500)
    code: str | None = Field(default=None, max_length=64)
    details: list[Any] | None = None
    transaction_id: str | None = Field(default=None, max_length=100)
    parked: list[dict[str, Any]] | None = Field(
        default=None, max_length=50, description="compensations that failed, waiting for an operator"
    )


class StatusReport(SagaReport):
    """A status report of one order, as the saga's activity receives it."""

    order_id: str  # in the path, not the body


class ReturnSettled(Schema):
    """What a return's workflow reports once it has restocked and refunded (a repeat changes nothing)."""

    model_config = ConfigDict(frozen=True)

    restocked_units: int = Field(ge=0)
    refunded_amount: str | None = Field(
        default=None, pattern=r"^\d{1,10}\.\d{2}$", description="in the base currency; null: nothing refunded"
    )
    refund_id: str | None = Field(default=None, max_length=100)


class PurchasesClient:
    """The orders service as the reviews service asks it whether a reviewer received the product."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    async def verified(self, user_id: str, product_id: str) -> bool:
        """Whether the user has a delivered order holding the product; `Unavailable` if orders cannot say."""
        body = await self._http.get(
            VERIFIED_PURCHASE_PATH, params={"userId": user_id, "productId": product_id}
        )
        return isinstance(body, dict) and body.get("verified") is True


class OrdersClient:
    """The orders service as the workflows call it."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    async def report_status(self, report: StatusReport) -> None:
        body = report.model_dump(mode="json", by_alias=True, exclude={"order_id"})
        await self._http.post(STATUS_REPORT_PATH.format(orderId=report.order_id), json=body)

    async def report_return_settled(self, return_id: str, settled: ReturnSettled) -> None:
        body = settled.model_dump(mode="json", by_alias=True)
        await self._http.post(RETURN_SETTLED_PATH.format(returnId=return_id), json=body)
