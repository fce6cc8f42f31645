"""The internal routes other services read the catalog with (service credentials)."""

from __future__ import annotations

from tests.apis.products.conftest import Shop


async def test_a_document_names_the_parents_of_its_categories(shop: Shop) -> None:
    root = await shop.category()
    leaf, top = await shop.category(parent=root["id"]), await shop.category()
    product = await shop.product(categories=[leaf["id"], top["id"]])
    response = await shop.call(
        "POST", "/internal/product-documents", as_="service", json={"productIds": [product["id"], "gone"]}
    )
    assert response.status_code == 200, response.text
    [document] = response.json().values()
    assert sorted(document["category_slugs"]) == sorted([leaf["slug"], top["slug"]])
    assert document["category_parent_slugs"] == [root["slug"]]
