"""Payloads of the orders API, in the seed's shapes (camelCase, money as strings)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from contracts.currencies import Amount
from contracts.orders import CommentRole, OrderStatus, PaymentMethod, ReturnStatus
from kit.schemas import Email, Money, Pagination, Schema, Timestamp

MAX_LINE_QUANTITY = 99
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()\-.]{5,30}$")]


class Address(Schema):
    street: Text
    city: Text
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    country: Text
    state: Text | None = None


class OrderLineIn(Schema):
    """The client says which variant and how many; the price comes from the catalog."""

    variant_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(strict=True, gt=0, le=MAX_LINE_QUANTITY)]
    product_id: str | None = None


# The rule `one_source_of_items` enforces (a 400 otherwise), as the document tells it: `items` and no
# `cartId`, or a `cartId` and no `items` (a null one counts as absent).
ONE_SOURCE_OF_ITEMS: dict[str, Any] = {
    "oneOf": [
        {"required": ["items"], "properties": {"items": {"type": "array"}, "cartId": {"type": "null"}}},
        {"required": ["cartId"], "properties": {"cartId": {"type": "string"}, "items": {"type": "null"}}},
    ]
}


class OrderCreate(Schema):
    """From `items` or from a `cartId` (one of the two); guests give `guestEmail` and `guestName`."""

    model_config = ConfigDict(json_schema_extra=ONE_SOURCE_OF_ITEMS)

    items: Annotated[list[OrderLineIn], Field(min_length=1, max_length=50)] | None = None
    cart_id: uuid.UUID | None = None
    shipping_address: Address
    phone: Phone
    payment_method: PaymentMethod
    payment_token: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="The card token from the payment provider's form (sandbox: `tok_visa`)."
    )
    guest_email: Email | None = None
    guest_name: Text | None = None

    @model_validator(mode="after")
    def one_source_of_items(self) -> OrderCreate:
        if (self.items is None) == (self.cart_id is None):
            raise ValueError("give either items or cartId")
        return self


class OrderItemRead(Schema):
    id: str
    order_id: str
    product_id: str
    variant_id: str
    product_name: Any
    variant_attributes: dict[str, Any]
    sku: str
    image_url: str | None
    price_at_time_of_order: Money
    display_price_at_time_of_order: Amount = Field(
        description="the unit price in the order's displayCurrency, at its exchangeRateAtPurchase"
    )
    quantity: int


class ReturnCommentRead(Schema):
    id: str
    return_request_id: str
    author_id: str | None
    author_name: str = Field(description="the author's name, or 'Guest'")
    role: CommentRole
    comment_text: str | None
    image_url: str | None
    created_at: Timestamp


class ReturnItemRead(Schema):
    id: str
    order_item_id: str
    quantity: int
    order_item: OrderItemRead


class ReturnRead(Schema):
    id: str
    order_id: str
    user_id: str | None
    reason: str
    status: ReturnStatus
    admin_comments: str | None
    image_urls: list[str] | None
    items: list[ReturnItemRead]
    refund_amount: Money | None = Field(
        description="what the return refunds, in the base currency: its lines at their price (card orders; "
        "null for cash on delivery)"
    )
    restocked_units: int | None = Field(description="units put back on sale once settled")
    refunded_amount: Money | None = Field(description="refunded once settled")
    refund_id: str | None
    settled_at: Timestamp | None = Field(description="when its workflow restocked and refunded it")
    created_at: Timestamp
    updated_at: Timestamp
    customer_name: str
    customer_email: str | None
    phone: str
    comments: list[ReturnCommentRead] = Field(description="oldest first")


class OrderRead(Schema):
    id: str
    user_id: str | None
    guest_email: str | None
    guest_name: str | None
    phone: str
    status: OrderStatus
    payment_method: PaymentMethod
    shipping_address: dict[str, Any]
    total_amount: Money = Field(description="in the base currency: the amount charged")
    display_currency: str
    exchange_rate_at_purchase: Annotated[str, Field(description="decimal, as a string")]
    display_total_amount: Amount = Field(
        description="in displayCurrency: the sum of the lines' display prices"
    )
    payment_transaction_id: str | None
    failure_reason: str | None
    parked_compensations: list[dict[str, Any]] | None = Field(
        default=None, description="compensations the saga could not complete, waiting for an operator"
    )
    created_at: Timestamp
    updated_at: Timestamp
    items: list[OrderItemRead]
    is_cancellable: bool
    is_returnable: bool
    customer_name: str
    customer_email: str | None
    customer_avatar: str | None
    return_requests: list[ReturnRead] = Field(description="the order's returns, oldest first")
    guest_token: str | None = Field(
        default=None, serialization_alias="guest_token", description="Shown once, to the guest who ordered."
    )


class OrderAccepted(Schema):
    """202: the saga goes on; poll `Location`."""

    id: str
    status: OrderStatus
    message: str = "Order received; it is being processed."


class OrderPage(Schema):
    data: list[OrderRead]
    pagination: Pagination


class GuestLookup(Schema):
    order_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    email: Email | None = None
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None

    @model_validator(mode="after")
    def one_credential(self) -> GuestLookup:
        if not self.email and not self.token:
            raise ValueError("give email or token")
        return self


class StatusChange(Schema):
    status: OrderStatus


SortField = Literal["createdAt", "totalAmount", "status", "updatedAt"]


EntryKind = Literal[
    "started", "step", "retry", "failure", "compensation", "signal", "timer", "status", "ended", "note"
]


class TimelineEntry(Schema):
    """One moment of an order's story, in plain words."""

    at: Timestamp
    kind: EntryKind
    text: str
    step: str | None = Field(default=None, description="the saga's step: reserve stock, charge the card, ...")
    attempt: int | None = Field(default=None, description="which attempt of the step this was")
    duration_ms: int | None = Field(default=None, description="how long the step took, retries included")
    source: Literal["workflow", "order"] = Field(
        description="the saga's Temporal history, or the order's own status changes"
    )


class OrderTimeline(Schema):
    """The story of an order: what its saga did and how its status moved, in time order."""

    order_id: str
    status: OrderStatus
    workflow_id: str
    entries: list[TimelineEntry]


class ReturnLineIn(Schema):
    order_item_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_LINE_QUANTITY)]


class ReturnCreate(Schema):
    """A return of some units of a delivered order's lines; a line's units returned over all the order's
    returns (rejected ones aside) never exceed those bought.
    """

    order_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    items: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=50)]
    image_urls: (
        Annotated[list[Annotated[str, StringConstraints(max_length=1000)]], Field(max_length=10)] | None
    ) = None


class ReturnPage(Schema):
    data: list[ReturnRead]
    pagination: Pagination


class ReturnUpdate(Schema):
    """Staff move a return: PENDING_APPROVAL -> APPROVED | REJECTED, APPROVED -> COMPLETED."""

    status: ReturnStatus
    admin_comments: Annotated[str, StringConstraints(max_length=2000)] | None = None


CommentText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
# An image from our images service (`/images/<name>`) or another site's, never a `javascript:` or data URL.
ImageUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=r"^(/images/|https?://)\S+$")
]


class ReturnCommentCreate(Schema):
    """A message on a return: a text, an image, or both (one of them at least)."""

    comment_text: CommentText | None = None
    image_url: ImageUrl | None = None

    @model_validator(mode="after")
    def text_or_image(self) -> ReturnCommentCreate:
        if not self.comment_text and not self.image_url:
            raise ValueError("Comment must contain text or an image: give commentText or imageUrl")
        return self
