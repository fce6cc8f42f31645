"""The products service's seam: the catalog's events, the ledger's refusals and the typed client that carts,
orders and the saga's activities call it with (service credentials).

Events on `product_events` (key: the product or category id): `PRODUCT_CREATED` / `PRODUCT_UPDATED` with the
whole product document (the seed's payload), `PRODUCT_DELETED {id}`, and `CATEGORY_CREATED` /
`CATEGORY_UPDATED` (the row), `CATEGORY_DELETED {id}`.

Stock moves only through the ledger, idempotently: an order reserves each line with the key
`order-{orderId}-{variantId}` and gives it back with `order-{orderId}-{variantId}-release`, so a retried
reservation or release is answered, never applied twice. A completed return puts its units back with the key
`return-{returnId}-{orderItemId}` (`RETURN_RESTOCK`, related to its order): restocked once per return line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from kit.clients import ServiceClient
from kit.errors import Conflict, NotFound

SERVICE = "products"
PRODUCT_EVENTS = "product_events"

PRODUCT_CREATED = "PRODUCT_CREATED"
PRODUCT_UPDATED = "PRODUCT_UPDATED"
PRODUCT_DELETED = "PRODUCT_DELETED"
CATEGORY_CREATED = "CATEGORY_CREATED"
CATEGORY_UPDATED = "CATEGORY_UPDATED"
CATEGORY_DELETED = "CATEGORY_DELETED"

# Refusal codes other services act on.
INSUFFICIENT_STOCK = "InsufficientStock"
VARIANT_NOT_FOUND = "VariantNotFound"
RELEASE_EXCEEDS_RESERVATION = "ReleaseExceedsReservation"

# Routes other services call (templates as the routes declare them).
STOCK_ADJUST_PATH = "/stock/adjust/{variant_id}"
VARIANT_DETAILS_PATH = "/internal/variant-details"
PRODUCT_DOCUMENTS_PATH = "/internal/product-documents"
PRODUCT_STAMPS_PATH = "/internal/product-stamps"
MAX_PRODUCT_STAMPS = 1000  # per page of PRODUCT_STAMPS_PATH
MAX_DOCUMENTS = 500  # per call of PRODUCT_DOCUMENTS_PATH
PRODUCT_PATH = "/id/{product_id}"  # public: an active product, `{data: product}`
IMAGE_USES_PATH = "/internal/image-uses"
MAX_IMAGE_USES = 100  # image names per call of IMAGE_USES_PATH

# Ledger movement types an order writes.
ORDER_MOVEMENT = "ORDER"
ORDER_CANCELLED_MOVEMENT = "ORDER_CANCELLED"
RETURN_RESTOCK_MOVEMENT = "RETURN_RESTOCK"


class VariantNotFound(NotFound):
    default_code = VARIANT_NOT_FOUND

    def __init__(self, variant_id: str) -> None:
        super().__init__(f"Variant with ID {variant_id} not found.", details=[{"variantId": variant_id}])


class InsufficientStock(Conflict):
    """Fewer units on sale than a shopper asked for: the words a cart and an order answer with."""

    default_code = INSUFFICIENT_STOCK

    def __init__(self, variant_id: str, requested: int, available: int | None) -> None:
        super().__init__(
            f"Only {available} of variant {variant_id} in stock; {requested} requested.",
            details=[{"variantId": variant_id, "requested": requested, "available": available}],
        )


@dataclass(frozen=True)
class Variant:
    id: str
    product_id: str
    price: Decimal
    cost_price: Decimal | None
    name: Any
    sku: str
    image_url: str | None
    attributes: dict[str, Any]
    stock_quantity: int


@dataclass(frozen=True)
class ProductStamp:
    """A product as a reindex or a reconcile pages the catalog: its id, last update, whether it is on sale."""

    id: str
    revised_at: datetime  # its last change, its variants' stock included (the document's `revisedAt`)
    is_active: bool


def reservation_key(order_id: str, variant_id: str) -> str:
    return f"order-{order_id}-{variant_id}"


def release_key(order_id: str, variant_id: str) -> str:
    return f"{reservation_key(order_id, variant_id)}-release"


def restock_key(return_id: str, order_item_id: str) -> str:
    return f"return-{return_id}-{order_item_id}"


def copy_fields(document: dict[str, Any]) -> dict[str, Any]:
    """What a service showing products keeps of a PRODUCT_CREATED / _UPDATED document: its names (every
    language), SKU and primary image.
    """
    name = document.get("name")
    return {
        "name": name if isinstance(name, dict) else {"en": str(name or "")},
        "sku": document.get("sku") or "",
        "image_url": document.get("primaryImageUrl"),
    }


def document_version(document: dict[str, Any]) -> int | None:
    """A document's version when its envelope has none: its `updatedAt` in microseconds (the catalog bumps
    it with every change of the product, its variants or its images).
    """
    moment = document.get("updatedAt")
    if not isinstance(moment, str):
        return None
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.replace(tzinfo=parsed.tzinfo or UTC).timestamp() * 1_000_000)


class ProductsClient:
    """The products service as other services call it."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    async def variants(self, ids: Iterable[str]) -> dict[str, Variant]:
        """The variants on sale among `ids` (unknown ones, and those of inactive products, are absent)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        details: dict[str, dict[str, Any]] = await self._http.post(
            VARIANT_DETAILS_PATH, json={"variantIds": wanted}
        )
        return {
            variant_id: _variant(variant_id, body)
            for variant_id, body in details.items()
            if body.get("isActive", True)
        }

    async def copy_of(self, product_id: str) -> tuple[dict[str, Any], int | None] | None:
        """What a copy keeps of an active product, read from the catalog's public answer, with its version
        (`document_version`); None for a product the catalog does not show.
        """
        try:
            body = await self._http.get(PRODUCT_PATH.format(product_id=product_id))
        except NotFound:
            return None
        product: dict[str, Any] = body.get("data", body)
        images = product.get("images") or []
        primary = next((i for i in images if i.get("isPrimary")), images[0] if images else None)
        document = {**product, "primaryImageUrl": primary.get("imageUrl") if primary else None}
        return copy_fields(document), document_version(document)

    async def variant(self, variant_id: str) -> Variant:
        found = await self.variants([variant_id])
        if variant_id not in found:
            raise VariantNotFound(variant_id)
        return found[variant_id]

    async def reserve(self, order_id: str, variant_id: str, quantity: int) -> None:
        """Take an order line's units out of stock (once, whatever the retries).

        Raises `VariantNotFound`, or `InsufficientStock` in the shopper's words.
        """
        body = _adjustment(order_id, -quantity, ORDER_MOVEMENT, f"Order placement: {order_id}")
        try:
            await self._adjust(variant_id, {**body, "idempotencyKey": reservation_key(order_id, variant_id)})
        except Conflict as short:
            if short.code != INSUFFICIENT_STOCK:
                raise
            details = short.details or []
            available = next((d.get("available") for d in details if isinstance(d, dict)), None)
            raise InsufficientStock(variant_id, quantity, available) from short

    async def release(self, order_id: str, variant_id: str, quantity: int) -> bool:
        """Give back what the order holds of the variant; False when it holds nothing (the reservation never
        happened) or the variant is gone (a deleted variant has no stock to return to).
        """
        body = _adjustment(order_id, quantity, ORDER_CANCELLED_MOVEMENT, f"Order compensation: {order_id}")
        return await self._give_back(
            variant_id, {**body, "idempotencyKey": release_key(order_id, variant_id)}
        )

    async def restock(
        self, return_id: str, order_id: str, order_item_id: str, variant_id: str, quantity: int
    ) -> bool:
        """Put a returned line's units back on sale (once per return line, whatever the retries); False when
        the order no longer holds them (the ledger never gives back more than it took) or the variant is gone.
        """
        reason = f"Return request completed: {return_id}"
        body = _adjustment(order_id, quantity, RETURN_RESTOCK_MOVEMENT, reason)
        return await self._give_back(
            variant_id, {**body, "idempotencyKey": restock_key(return_id, order_item_id)}
        )

    async def _give_back(self, variant_id: str, body: dict[str, Any]) -> bool:
        try:
            await self._adjust(variant_id, body)
        except VariantNotFound:
            return False
        except Conflict as refused:
            if refused.code != RELEASE_EXCEEDS_RESERVATION:
                raise
            return False
        return True

    async def documents(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The event document of each product (the seed's payload); deleted products are absent."""
        documents: dict[str, dict[str, Any]] = await self._http.post(
            PRODUCT_DOCUMENTS_PATH, json={"productIds": product_ids}
        )
        return documents

    async def stamps(
        self, *, after: str | None = None, limit: int = MAX_PRODUCT_STAMPS
    ) -> list[ProductStamp]:
        """A page of the catalog (archived products left out), in id order, after the id `after`: the next
        page starts after the last id of this one, and a page shorter than `limit` is the last.
        """
        params: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
        page: list[dict[str, Any]] = await self._http.get(PRODUCT_STAMPS_PATH, params=params)
        return [
            ProductStamp(str(p["id"]), datetime.fromisoformat(p["revisedAt"]), bool(p["isActive"]))
            for p in page
        ]

    async def image_uses(self, names: Iterable[str]) -> dict[str, list[str]]:
        """The live products showing each of our images (by name), after every attachment of them in
        flight has committed: the images service asks this once it has hidden an image it deletes.
        """
        wanted = sorted(set(names))
        if not wanted:
            return {}
        uses: dict[str, list[str]] = await self._http.post(IMAGE_USES_PATH, json={"names": wanted})
        return uses

    async def _adjust(self, variant_id: str, body: dict[str, Any]) -> None:
        try:
            await self._http.post(STOCK_ADJUST_PATH.format(variant_id=variant_id), json=body)
        except NotFound as missing:
            raise VariantNotFound(variant_id) from missing


def _adjustment(order_id: str, change: int, movement: str, reason: str) -> dict[str, Any]:
    return {"changeQuantity": change, "type": movement, "relatedOrderId": order_id, "reason": reason}


def _variant(variant_id: str, body: dict[str, Any]) -> Variant:
    cost = body.get("costPrice")
    return Variant(
        id=variant_id,
        product_id=str(body["productId"]),
        price=Decimal(str(body["price"])),
        cost_price=None if cost is None else Decimal(str(cost)),
        name=body.get("productName"),
        sku=str(body.get("sku", "")),
        image_url=body.get("imageUrl"),
        attributes=body.get("attributes") or {},
        stock_quantity=int(body.get("stockQuantity", 0)),
    )
