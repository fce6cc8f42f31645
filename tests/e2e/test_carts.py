"""Carts through the gateway: catalog prices, stock, ownership, and bad input on every route."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import Shop

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


async def test_an_unknown_variant_is_404_and_more_than_the_stock_is_409(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=3)
    cart_id = (await shop.http.post("/carts")).json()["id"]
    unknown = await shop.http.post(f"/carts/{cart_id}/items", json={"variantId": "nope", "quantity": 1})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "VariantNotFound")
    too_many = await shop.http.post(f"/carts/{cart_id}/items", json={"variantId": variant_id, "quantity": 4})
    assert too_many.status_code == 409
    assert too_many.json()["details"] == [{"variantId": variant_id, "requested": 4, "available": 3}]


async def test_a_users_cart_is_reached_only_by_that_user_or_an_admin(shop: Shop) -> None:
    _, variant_id = await shop.product()
    ann, _ = await shop.customer()
    bob, _ = await shop.customer()
    cart_id = (await shop.http.post("/carts", headers=ann)).json()["id"]
    await shop.http.post(
        f"/carts/{cart_id}/items", json={"variantId": variant_id, "quantity": 1}, headers=ann
    )
    for stranger in ({}, bob):
        assert (await shop.http.get(f"/carts/{cart_id}", headers=stranger)).status_code == 404
        assert (await shop.http.delete(f"/carts/{cart_id}", headers=stranger)).status_code == 404
        taken = await shop.http.post("/carts/associate", json={"cartId": cart_id}, headers=stranger or bob)
        assert taken.status_code == 404
    assert (await shop.http.get(f"/carts/{cart_id}", headers=ann)).status_code == 200
    assert (await shop.http.get(f"/carts/{cart_id}", headers=shop.admin)).status_code == 200


async def test_associating_needs_a_login(shop: Shop) -> None:
    response = await shop.http.post(
        "/carts/associate", json={"cartId": str(uuid.uuid4()), "userId": "someone"}
    )
    assert response.status_code == 401


BAD_REQUESTS = [
    ("POST", "/carts?cartId=not-a-uuid", None, "cartId"),
    ("GET", "/carts/not-a-uuid", None, "cartId"),
    ("POST", "/carts/{cart}/items", {"variantId": "v", "quantity": 0}, "quantity"),
    ("POST", "/carts/{cart}/items", {"variantId": "v", "quantity": "2"}, "quantity"),
    ("POST", "/carts/{cart}/items", {"variantId": "v", "quantity": 1000}, "quantity"),
    ("POST", "/carts/{cart}/items", {"quantity": 1}, "variantId"),
    ("PUT", "/carts/{cart}/items/x", {"quantity": -1}, "quantity"),
    ("PUT", "/carts/{cart}/items/x", {}, "quantity"),
    ("DELETE", "/carts/not-a-uuid/items", None, "cartId"),
    ("DELETE", "/carts/not-a-uuid", None, "cartId"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_REQUESTS)
async def test_bad_input_answers_400_naming_the_field(
    shop: Shop, method: str, path: str, body: object, field: str
) -> None:
    cart_id = (await shop.http.post("/carts")).json()["id"]
    response = await shop.http.request(method, path.format(cart=cart_id), json=body)
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["details"]]


async def test_malformed_json_answers_400(shop: Shop) -> None:
    cart_id = (await shop.http.post("/carts")).json()["id"]
    response = await shop.http.post(
        f"/carts/{cart_id}/items", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "MalformedJson")
