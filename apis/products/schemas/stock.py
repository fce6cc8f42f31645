"""Payloads of `/stock` (the ledger) and of the internal routes other services call."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from apis.products.models import StockMovementType
from apis.products.schemas.products import Money, Schema, Timestamp
from contracts.products import MAX_DOCUMENTS

OUTGOING = frozenset({StockMovementType.ORDER})
INCOMING = frozenset({StockMovementType.ORDER_CANCELLED, StockMovementType.RETURN_RESTOCK})
ORDER_TYPES = frozenset({StockMovementType.ORDER, StockMovementType.ORDER_CANCELLED})
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,200}$")]
SCOPE_SEPARATOR = "/"  # between the caller and the key in the ledger; never in a key


class StockAdjust(Schema):
    """One change of a variant's stock, recorded as a movement of the ledger.

    `changeQuantity` is signed: negative takes stock out, positive puts it back; the result never goes
    below zero (409 `InsufficientStock` naming the variant, the change and the quantity available).

    **Idempotency.** With an `idempotencyKey`, the first request is applied and any later request with the
    same key changes nothing and answers the first result (`replayed: true`), even while the first is still
    running; the same key with another variant or change is a 409 `IdempotencyKeyReused`. A key belongs to
    its caller (a service, a user): another caller's same key string is another key. The orders service
    uses, per order item:

    - reserve: `{"changeQuantity": -q, "type": "ORDER", "relatedOrderId": o,
      "idempotencyKey": "order-{o}-{variantId}"}`
    - release (compensation): `{"changeQuantity": q, "type": "ORDER_CANCELLED", "relatedOrderId": o,
      "idempotencyKey": "order-{o}-{variantId}-release"}`

    `ORDER` must be negative and `ORDER_CANCELLED`/`RETURN_RESTOCK` positive; `ORDER` and `ORDER_CANCELLED`
    need `relatedOrderId`. A movement giving stock back to an order (`ORDER_CANCELLED`, or `RETURN_RESTOCK`
    with `relatedOrderId`) gives at most what that order still holds of the variant (409
    `ReleaseExceedsReservation`): a release without a reservation, or a second restock, never creates stock.
    `INITIAL_STOCK` is written only when a variant is created.
    """

    change_quantity: int = Field(ge=-1_000_000_000_000, le=1_000_000_000_000)
    type: StockMovementType
    reason: str | None = Field(default=None, max_length=500)
    related_order_id: str | None = Field(default=None, min_length=1, max_length=100)
    idempotency_key: IdempotencyKey | None = None

    @model_validator(mode="before")
    @classmethod
    def _check_order_id_even_when_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and not {"relatedOrderId", "related_order_id"} & data.keys():
            return {**data, "relatedOrderId": None}  # so that a missing one is reported under its own name
        return data

    @field_validator("change_quantity")
    @classmethod
    def _not_zero(cls, change: int) -> int:
        if change == 0:
            raise ValueError("must not be 0")
        return change

    @field_validator("type")
    @classmethod
    def _sign_fits_type(cls, kind: StockMovementType, info: ValidationInfo) -> StockMovementType:
        change = info.data.get("change_quantity")
        if kind is StockMovementType.INITIAL_STOCK:
            raise ValueError("INITIAL_STOCK is recorded only when a variant is created")
        if change is not None and kind in OUTGOING and change > 0:
            raise ValueError(f"{kind.value} takes stock out: changeQuantity must be negative")
        if change is not None and kind in INCOMING and change < 0:
            raise ValueError(f"{kind.value} puts stock back: changeQuantity must be positive")
        return kind

    @field_validator("related_order_id")
    @classmethod
    def _order_types_name_their_order(cls, order_id: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if order_id is None and kind in ORDER_TYPES:
            raise ValueError(f"required for {kind.value} movements")
        return order_id


class StockMovementRead(Schema):
    id: str
    variant_id: str
    change_quantity: int
    quantity_after: int
    type: StockMovementType
    reason: str | None
    related_order_id: str | None
    idempotency_key: str | None
    timestamp: Timestamp

    @field_validator("idempotency_key")
    @classmethod
    def _without_caller(cls, key: str | None) -> str | None:
        """The key as its caller sent it (the ledger stores it behind the caller's id)."""
        return key.rpartition(SCOPE_SEPARATOR)[2] if key else key


class StockAdjustResult(Schema):
    message: str
    movement: StockMovementRead
    new_stock_quantity: int = Field(description="The variant's quantity right after this movement.")
    replayed: bool = Field(description="True when an earlier request with the same key is being answered.")


class StockMismatch(Schema):
    variant_id: str
    product_id: str
    stock_quantity: int
    ledger_quantity: int


class ReconcileReport(Schema):
    variants_checked: int
    mismatches: list[StockMismatch]


class VariantDetailsRequest(Schema):
    variant_ids: Annotated[list[str], Field(min_length=1, max_length=500)]


class VariantDetails(Schema):
    """What orders need to price an item from the catalog (never from the client)."""

    price: Money
    cost_price: Money | None
    base_currency: str
    attributes: dict[str, Any]
    product_id: str
    product_name: dict[str, str]
    sku: str
    image_url: str | None
    is_active: bool
    stock_quantity: int


class ProductStamp(Schema):
    id: str
    revised_at: Timestamp
    is_active: bool


class ProductDocumentsRequest(Schema):
    product_ids: Annotated[list[str], Field(min_length=1, max_length=MAX_DOCUMENTS)]


def money_text(value: Decimal) -> str:
    return f"{value:.2f}"
