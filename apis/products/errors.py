"""The products service's domain errors; `kit.web` renders them as `{"message", "code", "details"}`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contracts.products import INSUFFICIENT_STOCK, RELEASE_EXCEEDS_RESERVATION
from kit.errors import BadRequest, Conflict, NotFound


class ProductNotFound(NotFound):
    default_code = "ProductNotFound"

    def __init__(self, product_id: str) -> None:
        super().__init__("Product not found", details=[{"productId": product_id}])


class CategoryNotFound(NotFound):
    default_code = "CategoryNotFound"

    def __init__(self, reference: str, *, what: str = "Category", by: str = "id") -> None:
        field = "categoryId" if by == "id" else by
        super().__init__(f"{what} with {by} '{reference}' not found.", details=[{field: reference}])


class UnknownCategories(NotFound):
    default_code = "CategoryNotFound"

    def __init__(self, ids: Iterable[str]) -> None:
        super().__init__(
            "One or more category IDs do not exist.", details=[{"categoryId": i} for i in sorted(ids)]
        )


class SkuTaken(Conflict):
    default_code = "SkuTaken"

    def __init__(self, sku: str) -> None:
        super().__init__(f"A product with SKU '{sku}' already exists.", details=[{"sku": sku}])


class SlugTaken(Conflict):
    default_code = "SlugTaken"

    def __init__(self, slug: str) -> None:
        super().__init__(f"A category with the slug '{slug}' already exists.", details=[{"slug": slug}])


class NotLeafCategories(Conflict):
    default_code = "NotLeafCategory"

    def __init__(self, names: Iterable[str]) -> None:
        listed = ", ".join(sorted(names))
        super().__init__(
            "Products can only be assigned to leaf categories. "
            f"The following are not leaf categories: {listed}."
        )


class CategoryTooDeep(BadRequest):
    """The hierarchy has two levels: a child category cannot have children."""

    default_code = "CategoryTooDeep"


class CategoryRuleViolated(Conflict):
    """A rule of the hierarchy holds against the change (children, products, self-parenting)."""

    default_code = "CategoryRuleViolated"


class InsufficientStock(Conflict):
    """The ledger's refusal, naming the signed change (shoppers hear the contract's InsufficientStock)."""

    default_code = INSUFFICIENT_STOCK

    def __init__(self, variant_id: str, change: int, available: int) -> None:
        super().__init__(
            f"Insufficient stock for variant {variant_id}: requested {change}, available {available}.",
            details=[{"variantId": variant_id, "requestedChange": change, "available": available}],
        )
        self.variant_id, self.change, self.available = variant_id, change, available


class IdempotencyKeyReused(Conflict):
    default_code = "IdempotencyKeyReused"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"The idempotency key '{key}' was already used for a different stock adjustment.",
            details=[{"idempotencyKey": key}],
        )


class ReleaseExceedsReservation(Conflict):
    """`ORDER_CANCELLED` (or `RETURN_RESTOCK` naming an order) gives back at most what the order holds."""

    default_code = RELEASE_EXCEEDS_RESERVATION

    def __init__(self, variant_id: str, order_id: str, change: int, held: int) -> None:
        super().__init__(
            f"Order {order_id} holds {held} of variant {variant_id}; it cannot give back {change}.",
            details=[{"variantId": variant_id, "orderId": order_id, "requestedChange": change, "held": held}],
        )


class InvalidStockChange(BadRequest):
    default_code = "InvalidStockChange"


class UnknownImage(BadRequest):
    default_code = "ImageNotFound"

    def __init__(self, url: str) -> None:
        super().__init__(
            f"Image {url} is not stored by the images service; upload it first (POST /images/upload).",
            details=[{"field": "images.imageUrl", "imageUrl": url}],
        )


class BadCursor(BadRequest):
    default_code = "BadCursor"

    def __init__(self, reason: str) -> None:
        super().__init__(f"cursor: {reason}", details=[{"field": "cursor"}])


class CurrencyNotFound(NotFound):
    default_code = "CurrencyNotFound"

    def __init__(self, code: str) -> None:
        super().__init__(f"Currency rate for code '{code}' not found.", details=[{"code": code}])


class BaseCurrencyFixed(Conflict):
    """The base currency is the one prices are stored and charged in: it keeps rate 1 and stays the base."""

    default_code = "BaseCurrencyFixed"


class RateChanged(Conflict):
    default_code = "RateChanged"

    def __init__(self, code: str, updated_at: datetime | None) -> None:
        when = updated_at.isoformat() if updated_at else "never"
        super().__init__(
            f"The rate of {code} changed since it was read (last change: {when}); read it again.",
            details=[{"code": code, "updatedAt": updated_at.isoformat() if updated_at else None}],
        )


class PromotionNotFound(NotFound):
    default_code = "PromotionNotFound"

    def __init__(self, *ids: str) -> None:
        super().__init__("Promotion not found.", details=[{"promotionId": i} for i in ids])
