"""What a copy keeps of a product read from the catalog's public answer (`ProductsClient.copy_of`): its
names, SKU, primary image (else the first) and its `updatedAt` as version; a product the catalog does not
show is None, a catalog that cannot answer an error.
"""

from __future__ import annotations

import httpx
import pytest

from contracts.products import ProductsClient
from kit.clients import ServiceClient
from kit.discovery.static import StaticRegistry
from kit.errors import Unavailable

PRODUCT = {
    "id": "p1",
    "sku": "SKU-1",
    "name": {"en": "Boot", "fr": "Botte"},
    "updatedAt": "2026-01-02T03:04:05.000006Z",
    "images": [
        {"imageUrl": "/images/a.jpg", "isPrimary": False},
        {"imageUrl": "/images/b.jpg", "isPrimary": True},
    ],
}


def catalog(status: int, body: object) -> ProductsClient:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/id/p1"
        return httpx.Response(status, json=body)

    registry = StaticRegistry(defaults={"products": "http://products"})
    return ProductsClient(ServiceClient(registry, "products", transport=httpx.MockTransport(answer)))


async def test_the_copy_holds_names_sku_primary_image_and_the_version() -> None:
    fields, version = await catalog(200, {"data": PRODUCT}).copy_of("p1") or ({}, None)
    assert fields == {"name": {"en": "Boot", "fr": "Botte"}, "sku": "SKU-1", "image_url": "/images/b.jpg"}
    assert version == 1_767_323_045_000_006


async def test_without_a_primary_image_the_first_one_is_shown() -> None:
    first = {**PRODUCT, "images": [{"imageUrl": "/images/a.jpg", "isPrimary": False}]}
    fields, _ = await catalog(200, {"data": first}).copy_of("p1") or ({}, None)
    assert fields["image_url"] == "/images/a.jpg"


async def test_a_product_the_catalog_does_not_show_is_none() -> None:
    assert (
        await catalog(404, {"message": "Product not found", "code": "ProductNotFound"}).copy_of("p1") is None
    )


async def test_a_catalog_that_cannot_answer_is_unavailable() -> None:
    with pytest.raises(Unavailable):
        await catalog(503, {"message": "down", "code": "ServiceUnavailable"}).copy_of("p1")
