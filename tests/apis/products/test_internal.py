"""The internal routes other services read the catalog with (service credentials)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop

pytestmark = ON_BOTH_DATABASES


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


async def test_the_catalog_is_paged_in_id_order_with_stamps_archived_products_left_out(shop: Shop) -> None:
    made = sorted([(await shop.product())["id"] for _ in range(4)])
    hidden = await shop.product(isActive=False)
    made = sorted([*made, hidden["id"]])
    ordered = await shop.product()
    assert (await shop.adjust(ordered["variants"][0]["id"], -1, type="ORDER", relatedOrderId="o1")).is_success
    assert (await shop.call("DELETE", f"/{ordered['id']}")).status_code == 204  # archived: it has orders
    pages, after = [], None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        response = await shop.call("GET", "/internal/product-stamps", as_="service", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if len(pages[-1]) < 2:
            break
        after = pages[-1][-1]["id"]
    stamps = [stamp for page in pages for stamp in page]
    assert [stamp["id"] for stamp in stamps] == made
    assert [stamp["isActive"] for stamp in stamps] == [i != hidden["id"] for i in made]
    assert next(s["revisedAt"] for s in stamps if s["id"] == hidden["id"]) >= hidden["updatedAt"]
    refused = await shop.call("GET", "/internal/product-stamps", as_="admin")
    assert refused.status_code == 403


async def test_a_stock_movement_revises_the_document_and_its_stamp_but_not_updated_at(shop: Shop) -> None:
    product = await shop.product()
    pid = product["id"]

    async def document() -> Any:
        answer = await shop.call(
            "POST", "/internal/product-documents", as_="service", json={"productIds": [pid]}
        )
        return answer.json()[pid]

    async def stamp() -> Any:
        page = (
            await shop.call("GET", "/internal/product-stamps", as_="service", params={"limit": 1000})
        ).json()
        return next(s["revisedAt"] for s in page if s["id"] == pid)

    before = await document()
    assert before["revisedAt"] >= before["updatedAt"]
    assert (await shop.adjust(product["variants"][0]["id"], -1)).status_code == 201
    after = await document()
    assert after["updatedAt"] == before["updatedAt"]  # the seed's field, as the seed kept it
    assert after["revisedAt"] > before["revisedAt"]
    assert _instant(await stamp()) == _instant(after["revisedAt"])


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
