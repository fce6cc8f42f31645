"""Products as the seed's clients use them: create with everything, read, list and filter, update, delete."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop, unique

# JSON paths, LIKE escapes and cascades differ between SQLite and PostgreSQL: run on both.
pytestmark = ON_BOTH_DATABASES


@pytest.fixture
async def leaf(shop: Shop) -> Any:
    root = await shop.category()
    return await shop.category(parent=root["id"])


class TestCreate:
    async def test_a_product_is_created_with_its_variants_stock_images_and_categories(
        self, shop: Shop, leaf: Any
    ) -> None:
        product = await shop.product(categories=[leaf["id"]], stock=7)
        assert product["name"] == {"en": "Desk Lamp", "fr": "Lampe de bureau", "ar": "مصباح مكتب"}
        [variant] = product["variants"]
        assert (variant["price"], variant["stockQuantity"]) == ("19.99", 7)
        assert product["images"][0]["isPrimary"] is True
        assert [c["categoryId"] for c in product["categories"]] == [leaf["id"]]
        history = await shop.call("GET", f"/stock/history/{variant['id']}")
        assert [(m["type"], m["changeQuantity"]) for m in history.json()] == [("INITIAL_STOCK", 7)]

    async def test_prices_are_accepted_as_numbers_and_answered_as_two_decimal_strings(
        self, shop: Shop
    ) -> None:
        product = await shop.product(variants=[{"attributes": {}, "price": 10, "costPrice": 4.5}])
        assert (product["variants"][0]["price"], product["variants"][0]["costPrice"]) == ("10.00", "4.50")

    async def test_a_taken_sku_is_a_409(self, shop: Shop) -> None:
        product = await shop.product()
        again = await shop.call("POST", "/", json={"sku": product["sku"], "name": {"en": "Other"}})
        assert again.status_code == 409
        assert again.json()["code"] == "SkuTaken"

    async def test_two_concurrent_creations_with_one_sku_make_one_product_and_a_clean_409(
        self, shop: Shop
    ) -> None:
        body = {"sku": unique("RACE-"), "name": {"en": "Twin"}}
        responses = await asyncio.gather(*(shop.call("POST", "/", json=body) for _ in range(5)))
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]

    async def test_a_bulk_creates_every_product_or_none(self, shop: Shop) -> None:
        drafts = [{"sku": unique("BULK-"), "name": {"en": f"Item {n}"}} for n in range(3)]
        created = await shop.call("POST", "/bulk", json=drafts)
        assert created.status_code == 201
        assert created.json()["message"] == "Successfully created 3 products."
        assert [p["sku"] for p in created.json()["createdProducts"]] == [d["sku"] for d in drafts]
        fresh = {"sku": unique("BULK-"), "name": {"en": "New"}}
        again = await shop.call("POST", "/bulk", json=[fresh, drafts[0]])
        assert again.status_code == 409
        assert (await shop.call("GET", f"/sku/{fresh['sku']}")).status_code == 404
        assert (await shop.call("POST", "/bulk", json=[])).status_code == 400

    async def test_a_product_cannot_sit_on_a_category_with_children(self, shop: Shop, leaf: Any) -> None:
        response = await shop.call(
            "POST", "/", json={"sku": unique("S"), "name": {"en": "X"}, "categoryIds": [leaf["parentId"]]}
        )
        assert response.status_code == 409
        assert response.json()["code"] == "NotLeafCategory"
        assert "not leaf categories" in response.json()["message"]

    async def test_unknown_categories_are_a_404_and_nothing_is_created(self, shop: Shop) -> None:
        sku = unique("S")
        body = {"sku": sku, "name": {"en": "X"}, "categoryIds": ["00000000-0000-4000-8000-000000000000"]}
        assert (await shop.call("POST", "/", json=body)).status_code == 404
        assert (await shop.call("GET", f"/sku/{sku}")).status_code == 404


class TestRead:
    async def test_a_product_is_read_by_id_in_the_seed_envelope(self, shop: Shop) -> None:
        product = await shop.product()
        response = await shop.call("GET", f"/id/{product['id']}", as_=None)
        assert response.status_code == 200
        meta = {"currency": "USD", "displayCurrency": "USD", "baseCurrency": "USD", "rate": "1"}
        assert response.json()["meta"] == meta
        assert response.json()["data"]["name"]["fr"] == "Lampe de bureau"  # not localised, as in the seed

    async def test_a_product_is_read_by_sku_without_envelope(self, shop: Shop) -> None:
        product = await shop.product()
        response = await shop.call("GET", f"/sku/{product['sku']}", as_=None)
        assert response.json()["id"] == product["id"]

    async def test_an_unknown_product_is_a_json_404(self, shop: Shop) -> None:
        response = await shop.call("GET", "/id/00000000-0000-4000-8000-000000000000", as_=None)
        assert response.status_code == 404
        assert response.json()["code"] == "ProductNotFound"

    async def test_cost_prices_are_shown_to_staff_only(self, shop: Shop) -> None:
        product = await shop.product(variants=[{"attributes": {}, "price": "10", "costPrice": "4"}])
        path = f"/id/{product['id']}"
        assert "costPrice" not in (await shop.call("GET", path, as_=None)).json()["data"]["variants"][0]
        assert "costPrice" not in (await shop.call("GET", path, as_="customer")).json()["data"]["variants"][0]
        assert (await shop.call("GET", path, as_="auditor")).json()["data"]["variants"][0][
            "costPrice"
        ] == "4.00"

    async def test_inactive_products_are_hidden_from_visitors(self, shop: Shop) -> None:
        product = await shop.product(isActive=False)
        assert (await shop.call("GET", f"/id/{product['id']}", as_=None)).status_code == 404
        assert (await shop.call("GET", f"/id/{product['id']}", as_="admin")).status_code == 200
        visible = (await shop.call("GET", "/", as_=None)).json()["data"]
        assert product["id"] not in [p["id"] for p in visible]


class TestList:
    async def test_texts_follow_accept_language_with_english_as_fallback(self, shop: Shop) -> None:
        await shop.product(name={"en": "Chair", "fr": "Chaise"}, description={"en": "Sit."})
        for header, name, description in [
            ("fr-FR,fr;q=0.9", "Chaise", "Sit."),
            ("ar", "Chair", "Sit."),
            ("de-DE, fr;q=0.5", "Chaise", "Sit."),
            ("", "Chair", "Sit."),
            ("%%garbage;q=x", "Chair", "Sit."),
        ]:
            page = await shop.call("GET", "/", as_=None, headers={"Accept-Language": header})
            assert (page.json()["data"][0]["name"], page.json()["data"][0]["description"]) == (
                name,
                description,
            )

    async def test_pagination_counts_every_match(self, shop: Shop) -> None:
        for _ in range(5):
            await shop.product()
        page = (await shop.call("GET", "/?page=2&limit=2", as_=None)).json()
        assert page["pagination"] == {"total": 5, "page": 2, "limit": 2, "totalPages": 3}
        assert len(page["data"]) == 2

    async def test_a_root_category_slug_finds_the_products_of_its_children(
        self, shop: Shop, leaf: Any
    ) -> None:
        inside = await shop.product(categories=[leaf["id"]])
        await shop.product()
        root_slug = (await shop.call("GET", f"/categories/id/{leaf['parentId']}")).json()["slug"]
        for slug in (leaf["slug"], root_slug):
            found = (await shop.call("GET", f"/?categorySlug={slug}", as_=None)).json()["data"]
            assert [p["id"] for p in found] == [inside["id"]]

    async def test_price_stock_and_attributes_must_hold_on_one_variant(self, shop: Shop) -> None:
        variants = [
            {"attributes": {"Color": "Red", "Size": "M"}, "price": "50", "initialStockQuantity": 0},
            {"attributes": {"Color": "Blue", "Size": "M"}, "price": "10", "initialStockQuantity": 3},
        ]
        product = await shop.product(variants=variants)

        async def ids(query: str) -> list[str]:
            return [p["id"] for p in (await shop.call("GET", f"/?{query}", as_=None)).json()["data"]]

        assert await ids("attributes=Color:Blue&inStock=true&maxPrice=20") == [product["id"]]
        assert await ids("attributes=Color:Red&inStock=true") == []
        assert await ids("attributes=Color:Red,Size:M&minPrice=40") == [product["id"]]
        assert await ids("minPrice=60") == []

    async def test_q_searches_names_in_the_language_and_skus_case_insensitively(self, shop: Shop) -> None:
        lamp = await shop.product(sku=unique("LAMP-"))
        await shop.product(name={"en": "Sofa"})
        assert [p["id"] for p in (await shop.call("GET", "/?q=desk", as_=None)).json()["data"]] == [
            lamp["id"]
        ]
        french = await shop.call("GET", "/?q=lampe", as_=None, headers={"Accept-Language": "fr"})
        assert [p["id"] for p in french.json()["data"]] == [lamp["id"]]
        assert [p["id"] for p in (await shop.call("GET", "/?q=lamp-", as_=None)).json()["data"]] == [
            lamp["id"]
        ]
        assert (await shop.call("GET", "/?q=%25", as_=None)).json()[
            "data"
        ] == []  # a literal %, not a wildcard

    async def test_the_docs_of_q_send_text_searches_to_the_search_service(self, shop: Shop) -> None:
        listing = (await shop.call("GET", "/openapi.json", as_=None)).json()["paths"]["/"]["get"]
        q = next(p for p in listing["parameters"] if p["name"] == "q")
        assert "`GET /search/products`" in q["description"]

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [("sortBy=price&sortOrder=asc", ["b", "a"]), ("sortBy=name&sortOrder=asc", ["a", "b"])],
    )
    async def test_whitelisted_sorts_order_the_page(self, shop: Shop, sort: str, expected: list[str]) -> None:
        made = {
            "a": await shop.product(name={"en": "Anvil"}, variants=[{"attributes": {}, "price": "30"}]),
            "b": await shop.product(name={"en": "Bucket"}, variants=[{"attributes": {}, "price": "5"}]),
        }
        found = [p["id"] for p in (await shop.call("GET", f"/?{sort}", as_=None)).json()["data"]]
        assert found == [made[k]["id"] for k in expected]

    async def test_staff_can_list_inactive_products(self, shop: Shop) -> None:
        product = await shop.product(isActive=False)
        found = (await shop.call("GET", "/?isActive=false", as_="admin")).json()["data"]
        assert [p["id"] for p in found] == [product["id"]]


class TestWrite:
    async def test_an_update_changes_only_the_fields_sent(self, shop: Shop) -> None:
        product = await shop.product()
        response = await shop.call("PUT", f"/{product['id']}", json={"isActive": False})
        assert response.status_code == 200
        assert (response.json()["isActive"], response.json()["name"]) == (False, product["name"])

    async def test_an_update_to_a_taken_sku_is_a_409(self, shop: Shop) -> None:
        first, second = await shop.product(), await shop.product()
        response = await shop.call("PUT", f"/{second['id']}", json={"sku": first["sku"]})
        assert response.status_code == 409

    async def test_a_product_with_stock_history_can_be_deleted(self, shop: Shop) -> None:
        product = await shop.product()
        assert (await shop.adjust(product["variants"][0]["id"], -1)).status_code == 201
        assert (await shop.call("DELETE", f"/{product['id']}")).status_code == 204
        assert (await shop.call("GET", f"/id/{product['id']}")).status_code == 404
        assert (await shop.call("DELETE", f"/{product['id']}")).status_code == 404
        assert (await shop.call("GET", "/stock/reconcile")).json()["mismatches"] == []

    async def test_categories_are_added_and_removed(self, shop: Shop, leaf: Any) -> None:
        product = await shop.product()
        body = {"categoryIds": [leaf["id"]]}
        added = await shop.call("POST", f"/{product['id']}/categories", json=body)
        assert (added.status_code, added.json()) == (
            201,
            {"message": f"Added categories to product {product['id']}."},
        )
        removed = await shop.call("DELETE", f"/{product['id']}/categories", json=body)
        assert removed.json() == {"message": f"Removed 1 categories from product {product['id']}."}
        empty = await shop.call("POST", f"/{product['id']}/categories", json={"categoryIds": []})
        assert empty.status_code == 400

    async def test_a_new_primary_image_replaces_the_old_one(self, shop: Shop) -> None:
        product = await shop.product()
        images = [{"imageUrl": "https://img.example/2.jpg", "isPrimary": True}, {"imageUrl": "/images/3.png"}]
        assert (await shop.call("POST", f"/{product['id']}/images", json=images)).status_code == 201
        shown = (await shop.call("GET", f"/id/{product['id']}")).json()["data"]["images"]
        assert [(i["imageUrl"], i["isPrimary"]) for i in shown] == [
            ("https://img.example/lamp.jpg", False),
            ("https://img.example/2.jpg", True),
            ("/images/3.png", False),
        ]
        removed = await shop.call("DELETE", f"/{product['id']}/images", json={"imageIds": [shown[0]["id"]]})
        assert removed.json()["message"] == f"Removed 1 images from product {product['id']}."
