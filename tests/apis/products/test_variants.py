"""Variants of a product: they answer (the seed's never did); their stock moves only through the ledger."""

from __future__ import annotations

from tests.apis.products.conftest import Shop


async def test_variants_are_listed_and_read_within_their_product(shop: Shop) -> None:
    product, other = await shop.product(), await shop.product()
    variant_id = product["variants"][0]["id"]
    listed = await shop.call("GET", f"/{product['id']}/variants", as_=None)
    assert [v["id"] for v in listed.json()] == [variant_id]
    assert (await shop.call("GET", f"/{product['id']}/variants/{variant_id}", as_=None)).status_code == 200
    elsewhere = await shop.call("GET", f"/{other['id']}/variants/{variant_id}", as_=None)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "VariantNotFound")


async def test_a_new_variant_brings_its_initial_stock_into_the_ledger(shop: Shop) -> None:
    product = await shop.product()
    body = {"attributes": {"Color": "Red", "Count": 12}, "price": "21.50", "initialStockQuantity": 4}
    created = await shop.call("POST", f"/{product['id']}/variants", json=body)
    assert created.status_code == 201
    variant = created.json()
    assert (variant["attributes"], variant["stockQuantity"]) == ({"Color": "Red", "Count": "12"}, 4)
    history = (await shop.call("GET", f"/stock/history/{variant['id']}")).json()
    assert [(m["type"], m["reason"]) for m in history] == [
        ("INITIAL_STOCK", "Variant Creation Initial Stock")
    ]


async def test_an_update_changes_the_fields_sent_and_never_the_stock(shop: Shop) -> None:
    product = await shop.product(variants=[{"attributes": {}, "price": "5", "costPrice": "2"}])
    variant = product["variants"][0]
    path = f"/{product['id']}/variants/{variant['id']}"
    updated = await shop.call("PUT", path, json={"price": "6", "costPrice": None, "stockQuantity": 99})
    assert updated.status_code == 200
    assert (updated.json()["price"], "costPrice" in updated.json(), updated.json()["stockQuantity"]) == (
        "6.00",
        False,
        0,
    )
    assert (await shop.call("PUT", path, json={})).status_code == 400


async def test_a_variant_with_stock_movements_can_be_deleted(shop: Shop) -> None:
    product = await shop.product()
    variant_id = product["variants"][0]["id"]
    assert (await shop.call("DELETE", f"/{product['id']}/variants/{variant_id}")).status_code == 204
    assert (await shop.call("GET", f"/{product['id']}/variants")).json() == []
    assert (await shop.call("DELETE", f"/{product['id']}/variants/{variant_id}")).status_code == 404
    assert (await shop.call("GET", "/stock/reconcile")).json()["mismatches"] == []


async def test_variants_of_an_unknown_product_are_a_404(shop: Shop) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await shop.call("GET", f"/{missing}/variants")).status_code == 404
    body = {"attributes": {}, "price": "1"}
    assert (await shop.call("POST", f"/{missing}/variants", json=body)).status_code == 404
