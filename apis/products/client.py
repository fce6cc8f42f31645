"""The products service as other services call it: variant details for pricing, read with service credentials.

Published here, beside the routes it calls, so that carts and orders share one client of the contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kit.clients import ServiceClient
from kit.errors import NotFound

VARIANT_DETAILS_PATH = "/internal/variant-details"


class VariantNotFound(NotFound):
    default_code = "VariantNotFound"

    def __init__(self, variant_id: str) -> None:
        super().__init__(f"Product variant {variant_id} does not exist.", details=[{"variantId": variant_id}])


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


class Catalog:
    """Reads variants through `POST /internal/variant-details`."""

    def __init__(self, products: ServiceClient) -> None:
        self._products = products

    async def variants(self, ids: Iterable[str]) -> dict[str, Variant]:
        """The variants on sale among `ids` (unknown ones, and those of inactive products, are absent)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        details: dict[str, dict[str, Any]] = await self._products.post(
            VARIANT_DETAILS_PATH, json={"variantIds": wanted}
        )
        return {
            variant_id: _variant(variant_id, body)
            for variant_id, body in details.items()
            if body.get("isActive", True)
        }

    async def variant(self, variant_id: str) -> Variant:
        found = await self.variants([variant_id])
        if variant_id not in found:
            raise VariantNotFound(variant_id)
        return found[variant_id]


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
