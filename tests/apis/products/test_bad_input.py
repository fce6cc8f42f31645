"""Bad input is a 400 naming the field, for every query parameter and the main bodies; never a 500."""

from __future__ import annotations

import pytest

from tests.apis.products.conftest import Shop

LIST_PARAMETERS = [
    ("page", ["0", "-1", "x", "1.5", "100001", "99999999999999999999999"]),
    ("limit", ["0", "101", "ten", ""]),
    ("sortBy", ["price;drop table product", "id", "costPrice", "CREATEDAT", ""]),
    ("sortOrder", ["up", "ASC", ""]),
    ("isActive", ["maybe", "2"]),
    ("inStock", ["perhaps", "-1"]),
    ("minPrice", ["x", "-1", "1.001", "1e400", "NaN"]),
    ("maxPrice", ["x", "-5", "12345678901234"]),
    ("categorySlug", ["Not A Slug", "a/b", "x" * 121]),
    ("q", ["", "x" * 201]),
    ("attributes", ["Color", ":Red", "Color:", "a:b," + ",".join(f"k{i}:v" for i in range(10))]),
    ("attributes", ["Color\x00:Red", "Color:Re\x00d", "Co\nlor:Red"]),  # fuzzing: a NUL was a 500 on SQLite
]


@pytest.mark.parametrize(
    ("parameter", "value"), [(name, value) for name, values in LIST_PARAMETERS for value in values]
)
async def test_a_bad_listing_parameter_is_a_400_naming_it(shop: Shop, parameter: str, value: str) -> None:
    response = await shop.call("GET", "/", as_=None, params={parameter: value})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "ValidationError"
    assert any(d["field"].split(".")[0] == parameter for d in response.json()["details"])


async def test_a_max_price_below_the_min_price_is_a_400_naming_max_price(shop: Shop) -> None:
    response = await shop.call("GET", "/", as_=None, params={"minPrice": "10", "maxPrice": "5"})
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == ["maxPrice"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/categories?format=graph", "format"),
        ("/id/not-a-uuid", "product_id"),
        ("/categories/id/42", "category_id"),
        ("/categories/slug/Not%20a%20slug", "slug"),
        ("/stock/history/00000000-0000-4000-8000-000000000000?limit=0", "limit"),
    ],
)
async def test_other_bad_parameters_are_400s_naming_them(shop: Shop, path: str, field: str) -> None:
    response = await shop.call("GET", path)
    assert response.status_code == 400, response.text
    assert field in [detail["field"] for detail in response.json()["details"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": {"en": "x"}}, "sku"),
        ({"sku": "A-1"}, "name"),
        ({"sku": "has space", "name": {"en": "x"}}, "sku"),
        ({"sku": "A-1", "name": {"fr": "sans anglais"}}, "name.en"),
        ({"sku": "A-1", "name": {"en": "x", "de": "nein"}}, "name.de"),
        (
            {"sku": "A-1", "name": {"en": "x"}, "variants": [{"attributes": {}, "price": "-1"}]},
            "variants.0.price",
        ),
        (
            {"sku": "A-1", "name": {"en": "x"}, "variants": [{"attributes": {}, "price": "1.999"}]},
            "variants.0.price",
        ),
        ({"sku": "A-1", "name": {"en": "x"}, "variants": [{"price": "1"}]}, "variants.0.attributes"),
        (
            {
                "sku": "A-1",
                "name": {"en": "x"},
                "variants": [{"attributes": {}, "price": 1, "initialStockQuantity": -4}],
            },
            "variants.0.initialStockQuantity",
        ),
        ({"sku": "A-1", "name": {"en": "x"}, "categoryIds": ["nope"]}, "categoryIds.0"),
        (
            {"sku": "A-1", "name": {"en": "x"}, "images": [{"imageUrl": "javascript:alert(1)"}]},
            "images.0.imageUrl",
        ),
    ],
)
async def test_a_bad_product_body_is_a_400_naming_the_field(
    shop: Shop, body: dict[str, object], field: str
) -> None:
    response = await shop.call("POST", "/", json=body)
    assert response.status_code == 400, response.text
    assert field in [detail["field"] for detail in response.json()["details"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "ADJUSTMENT"}, "changeQuantity"),
        ({"changeQuantity": 0, "type": "ADJUSTMENT"}, "changeQuantity"),
        ({"changeQuantity": "1.5", "type": "ADJUSTMENT"}, "changeQuantity"),
        ({"changeQuantity": 1}, "type"),
        ({"changeQuantity": 1, "type": "THEFT"}, "type"),
        ({"changeQuantity": 1, "type": "INITIAL_STOCK"}, "type"),
        ({"changeQuantity": 1, "type": "ORDER", "relatedOrderId": "o"}, "type"),
        ({"changeQuantity": -1, "type": "RETURN_RESTOCK"}, "type"),
        ({"changeQuantity": -1, "type": "ORDER"}, "relatedOrderId"),
        ({"changeQuantity": 1, "type": "ADJUSTMENT", "idempotencyKey": "has space"}, "idempotencyKey"),
    ],
)
async def test_a_bad_stock_adjustment_is_a_400_naming_the_field(
    shop: Shop, body: dict[str, object], field: str
) -> None:
    product = await shop.product()
    response = await shop.call("POST", f"/stock/adjust/{product['variants'][0]['id']}", json=body)
    assert response.status_code == 400, response.text
    assert field in [detail["field"] for detail in response.json()["details"]]


async def test_malformed_json_is_a_400(shop: Shop) -> None:
    response = await shop.call(
        "POST", "/", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "MalformedJson")


@pytest.mark.parametrize("path", ["/anything", "/00000000-0000-4000-8000-000000000000", "/sku"])
async def test_a_get_of_a_bare_word_is_a_404_not_a_405(shop: Shop, path: str) -> None:
    """Fuzzing: `GET /products/<word>` met the PUT and DELETE of `/{productId}` and answered 405."""
    response = await shop.call("GET", path)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "RouteNotFound"


@pytest.mark.parametrize("path", ["/%0A", "/id/%2e%2e", "/id/%2E%2E/", "/%7F"])
async def test_a_path_naming_nothing_is_a_404_not_the_list(shop: Shop, path: str) -> None:
    """Fuzzing: `/products/%0A` and `/products/id/..` answered the product list."""
    response = await shop.call("GET", path)
    assert response.status_code == 404, response.text
    assert "data" not in response.json()
