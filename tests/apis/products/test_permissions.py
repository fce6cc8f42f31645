"""Every write needs the seed's permission (none stays open, unlike the seed's `/bulk`, variant and stock
routes); internal routes need service credentials; reads are public.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.apis.products.conftest import Shop

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def world(shop: Shop) -> dict[str, Any]:
    category = await shop.category()
    product = await shop.product()
    return {"p": product["id"], "v": product["variants"][0]["id"], "c": category["id"]}


Route = tuple[str, str, Any, str]
WRITES: list[Route] = [
    ("POST", "/", {"sku": "P-1", "name": {"en": "x"}}, "create:product"),
    ("POST", "/bulk", [{"sku": "P-2", "name": {"en": "x"}}], "create:product"),
    ("PUT", "/{p}", {"isActive": False}, "update:product"),
    ("DELETE", "/{p}", None, "delete:product"),
    ("POST", "/{p}/categories", {"categoryIds": [MISSING]}, "update:product"),
    ("DELETE", "/{p}/categories", {"categoryIds": [MISSING]}, "update:product"),
    ("POST", "/{p}/images", [{"imageUrl": "https://x/y.png"}], "update:product"),
    ("DELETE", "/{p}/images", {"imageIds": [MISSING]}, "update:product"),
    ("POST", "/{p}/variants", {"attributes": {}, "price": "1"}, "update:product"),
    ("PUT", "/{p}/variants/{v}", {"price": "2"}, "update:product"),
    ("DELETE", "/{p}/variants/{v}", None, "update:product"),
    ("POST", "/categories", {"name": {"en": "x"}, "slug": "x"}, "create:category"),
    ("PUT", "/categories/{c}", {"slug": "y"}, "update:category"),
    ("DELETE", "/categories/{c}", None, "delete:category"),
    ("POST", "/stock/adjust/{v}", {"changeQuantity": 1, "type": "ADJUSTMENT"}, "adjust:stock"),
]
STAFF_READS: list[Route] = [
    ("GET", "/stock/history/{v}", None, "read:stock"),
    ("GET", "/stock/reconcile", None, "read:stock"),
]


@pytest.mark.parametrize(("method", "path", "body", "permission"), WRITES + STAFF_READS)
async def test_anonymous_callers_get_401_and_customers_403(
    shop: Shop, world: dict[str, Any], method: str, path: str, body: Any, permission: str
) -> None:
    anonymous = await shop.call(method, path.format(**world), as_=None, json=body)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "MissingToken")
    customer = await shop.call(method, path.format(**world), as_="customer", json=body)
    assert customer.status_code == 403
    assert customer.json()["details"] == [{"permission": permission}]


@pytest.mark.parametrize(("method", "path", "body", "permission"), WRITES + STAFF_READS)
async def test_admins_pass_the_permission_check(
    shop: Shop, world: dict[str, Any], method: str, path: str, body: Any, permission: str
) -> None:
    response = await shop.call(method, path.format(**world), as_="admin", json=body)
    assert response.status_code not in (401, 403), response.text
    assert response.status_code < 500


async def test_a_supervisor_adjusts_stock_but_cannot_edit_products(shop: Shop, world: dict[str, Any]) -> None:
    adjust = {"changeQuantity": 1, "type": "ADJUSTMENT"}
    assert (
        await shop.call("POST", f"/stock/adjust/{world['v']}", as_="supervisor", json=adjust)
    ).status_code == 201
    assert (
        await shop.call("PUT", f"/{world['p']}", as_="supervisor", json={"isActive": False})
    ).status_code == 403


async def test_services_adjust_stock_with_their_credentials(shop: Shop, world: dict[str, Any]) -> None:
    adjust = {"changeQuantity": -1, "type": "ORDER", "relatedOrderId": "o-1", "idempotencyKey": "order-o-1-v"}
    assert (
        await shop.call("POST", f"/stock/adjust/{world['v']}", as_="service", json=adjust)
    ).status_code == 201


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/internal/variant-details", {"variantIds": ["{v}"]}),
        ("/internal/product-documents", {"productIds": ["{p}"]}),
    ],
)
async def test_internal_routes_need_service_credentials(
    shop: Shop, world: dict[str, Any], path: str, body: dict[str, list[str]]
) -> None:
    filled = {key: [item.format(**world) for item in items] for key, items in body.items()}
    assert (await shop.call("POST", path, as_=None, json=filled)).status_code == 401
    assert (await shop.call("POST", path, as_="admin", json=filled)).status_code == 403
    assert (await shop.call("POST", path, as_="service", json=filled)).status_code == 200


async def test_variant_details_price_orders_from_the_catalog(shop: Shop) -> None:
    product = await shop.product(variants=[{"attributes": {"Size": "M"}, "price": "12.50", "costPrice": "5"}])
    variant_id = product["variants"][0]["id"]
    body = {"variantIds": [variant_id, MISSING]}
    details = (await shop.call("POST", "/internal/variant-details", as_="service", json=body)).json()
    assert details == {
        variant_id: {
            "price": "12.50",
            "costPrice": "5.00",
            "baseCurrency": "USD",
            "attributes": {"Size": "M"},
            "productId": product["id"],
            "productName": product["name"],
            "sku": product["sku"],
            "imageUrl": "https://img.example/lamp.jpg",
            "isActive": True,
            "stockQuantity": 0,
        }
    }
    empty = await shop.call("POST", "/internal/variant-details", as_="service", json={"variantIds": []})
    assert empty.status_code == 400


async def test_a_forged_token_is_a_401_even_on_public_reads(shop: Shop) -> None:
    response = await shop.call("GET", "/", as_=None, headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
