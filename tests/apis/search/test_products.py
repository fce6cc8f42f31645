"""`GET /products` of the search service: the seed's answer shape, every filter, sorting, pages, facets
counted over the filtered set, and texts in the caller's language.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from apis.search.app import create_app
from contracts.search import INDEX_PATH
from kit.search import SearchIndex
from kit.settings import Settings
from tests.apis.search.conftest import found
from tests.support import asgi_client


def attribute_facets(body: Any) -> dict[str, list[tuple[str, int]]]:
    return {a["name"]: [(o["value"], o["count"]) for o in a["options"]] for a in body["facets"]["attributes"]}


class TestAnswer:
    async def test_no_parameters_find_every_product_in_the_seeds_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/products")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"data", "meta", "pagination", "facets"}  # the seed's, and the currency's meta
        assert body["pagination"] == {"total": 5, "page": 1, "limit": 24, "totalPages": 1}
        assert sorted(hit["id"] for hit in body["data"]) == ["p1", "p2", "p3", "p4", "p5"]
        assert body["facets"]["categories"] == [
            {"slug": "furniture", "count": 2},
            {"slug": "lamps", "count": 2},
            {"slug": "lighting", "count": 2},
            {"slug": "kitchen", "count": 1},
            {"slug": "sofas", "count": 1},
            {"slug": "tables", "count": 1},
        ]
        assert attribute_facets(body) == {
            "Color": [("Black", 2), ("Blue", 1), ("Brown", 1), ("Natural", 1), ("Red", 1), ("White", 1)],
            "Size": [("L", 1), ("M", 1)],
        }
        assert body["facets"]["price_ranges"] == [  # 50-100 holds nothing, so it is left out
            {"key": "*-50.0", "from": None, "to": 50.0, "count": 2},
            {"key": "100.0-200.0", "from": 100.0, "to": 200.0, "count": 1},
            {"key": "200.0-500.0", "from": 200.0, "to": 500.0, "count": 1},
            {"key": "500.0-*", "from": 500.0, "to": None, "count": 1},
        ]

    async def test_each_hit_is_the_stored_document_with_its_texts_in_english(
        self, client: httpx.AsyncClient
    ) -> None:
        hit = (await client.get("/products?q=desk")).json()["data"][0]
        assert hit["id"] == "p1"
        assert hit["sku"] == "SKU-1"
        assert hit["name"] == "Desk Lamp"
        assert hit["description"] == "A lamp for reading."
        assert hit["category_names"] == ["Lamps"]
        assert hit["variants"][0] == {
            "id": "p1-v0",
            "attributes": {"Color": "Black"},
            "price": "19.99",
            "basePrice": "19.99",
            "stockQuantity": 5,
        }

    async def test_facets_count_every_match_not_only_the_page(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/products?category=lighting&limit=1")).json()
        assert len(body["data"]) == 1
        assert body["pagination"] == {"total": 2, "page": 1, "limit": 1, "totalPages": 2}
        assert body["facets"]["categories"] == [
            {"slug": "lamps", "count": 2},
            {"slug": "lighting", "count": 2},
        ]
        assert attribute_facets(body) == {"Color": [("Black", 2), ("White", 1)]}
        assert [(r["key"], r["count"]) for r in body["facets"]["price_ranges"]] == [
            ("*-50.0", 1),
            ("100.0-200.0", 1),
        ]

    async def test_the_index_outlives_a_restart_of_the_service(
        self, search_settings: Settings, index: SearchIndex, client: httpx.AsyncClient
    ) -> None:
        async with asgi_client(create_app(search_settings)) as again:
            assert len(await found(again)) == 5

    async def test_readiness_includes_the_index(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/ready")
        assert response.status_code == 200
        assert response.json()["dependencies"]["search"] == "UP"

    async def test_the_internal_writes_are_served_to_other_services_only(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(INDEX_PATH, json={"documents": []})
        assert response.status_code == 401
        assert response.json()["code"]


class TestLanguages:
    async def test_texts_follow_accept_language_with_english_where_one_is_missing(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(
            "/products?sortBy=createdAt&sortOrder=asc", headers={"Accept-Language": "fr-FR,fr;q=0.9"}
        )
        hits = response.json()["data"]
        assert [hit["name"] for hit in hits] == [
            "Lampe de bureau",
            "Lampadaire",
            "Canapé en cuir",
            "Table en chêne",
            "Red Mug",
        ]
        assert hits[0]["description"] == "Une lampe pour lire."
        assert hits[0]["category_names"] == ["Lampes"]
        assert hits[4]["category_names"] == ["Kitchen"]

    async def test_an_unsupported_language_answers_english(self, client: httpx.AsyncClient) -> None:
        hits = (await client.get("/products?q=desk", headers={"Accept-Language": "de"})).json()["data"]
        assert hits[0]["name"] == "Desk Lamp"

    async def test_words_are_found_in_the_callers_language_and_in_english(
        self, client: httpx.AsyncClient
    ) -> None:
        assert await found(client, "q=lampadaire", language="fr") == ["p2"]
        assert await found(client, "q=floor", language="fr") == ["p2"]
        assert await found(client, "q=lampadaire") == []


class TestFilters:
    async def test_text_is_matched_with_a_typo_forgiven(self, client: httpx.AsyncClient) -> None:
        assert sorted(await found(client, "q=lamp")) == ["p1", "p2"]
        assert await found(client, "q=leathr") == ["p3"]
        assert await found(client, "q=%20%20sofa%20") == ["p3"]
        assert await found(client, "q=SKU-4") == ["p4"]

    async def test_a_blank_q_finds_everything(self, client: httpx.AsyncClient) -> None:
        assert len(await found(client, "q=%20%20")) == 5

    async def test_a_category_finds_its_products_and_its_childrens(self, client: httpx.AsyncClient) -> None:
        assert sorted(await found(client, "category=furniture")) == ["p3", "p4"]
        assert await found(client, "category=sofas") == ["p3"]
        assert await found(client, "category=garden") == []

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("minPrice=20&maxPrice=30", ["p1"]),
            ("minPrice=24.99&maxPrice=24.99", ["p1"]),
            ("minPrice=100", ["p2", "p3", "p4"]),
            ("maxPrice=10", ["p5"]),
            ("minPrice=0&maxPrice=8.49", []),
        ],
    )
    async def test_a_price_range_holds_when_one_variant_lies_within(
        self, client: httpx.AsyncClient, query: str, expected: list[str]
    ) -> None:
        assert sorted(await found(client, query)) == expected

    async def test_in_stock_keeps_products_with_a_variant_in_stock(self, client: httpx.AsyncClient) -> None:
        assert sorted(await found(client, "inStock=true")) == ["p1", "p3", "p4", "p5"]
        assert len(await found(client, "inStock=false")) == 5

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("attributes[Color]=Black", ["p1", "p2"]),
            ("attributes%5BColor%5D=Black", ["p1", "p2"]),
            ("attributes[Color]=Black&attributes[Color]=Red", ["p1", "p2", "p5"]),
            ("attributes[Color]=Brown&attributes[Size]=L", ["p3"]),
            ("attributes[Color]=Brown&attributes[Size]=M", []),
            ("attributes[Color]=Brown&attributes[Color]=Natural&attributes[Size]=M", ["p4"]),
            ("attributes[Color]=Black&inStock=true&maxPrice=20", ["p1"]),
        ],
    )
    async def test_attributes_are_or_within_a_key_and_across_keys(
        self, client: httpx.AsyncClient, query: str, expected: list[str]
    ) -> None:
        assert sorted(await found(client, query)) == expected


class TestOrderAndPages:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("sortBy=price&sortOrder=asc", ["p5", "p1", "p2", "p4", "p3"]),
            ("sortBy=price&sortOrder=desc", ["p3", "p4", "p2", "p1", "p5"]),
            ("sortBy=createdAt&sortOrder=asc", ["p1", "p2", "p3", "p4", "p5"]),
            ("sortBy=createdAt", ["p5", "p4", "p3", "p2", "p1"]),
            ("sortBy=_score", ["p5", "p4", "p3", "p2", "p1"]),  # no text: equal scores, newest first
        ],
    )
    async def test_sorting(self, client: httpx.AsyncClient, query: str, expected: list[str]) -> None:
        assert await found(client, query) == expected

    async def test_pages_split_the_matches_without_overlap(self, client: httpx.AsyncClient) -> None:
        pages = [await found(client, f"sortBy=price&sortOrder=asc&limit=2&page={page}") for page in (1, 2, 3)]
        assert pages == [["p5", "p1"], ["p2", "p4"], ["p3"]]
        body = (await client.get("/products?limit=2&page=3")).json()
        assert body["pagination"] == {"total": 5, "page": 3, "limit": 2, "totalPages": 3}

    @pytest.mark.parametrize("page", [4, 100_000])
    async def test_a_page_past_the_end_is_empty_with_the_right_total(
        self, client: httpx.AsyncClient, page: int
    ) -> None:
        response = await client.get(f"/products?limit=2&page={page}")
        assert response.status_code == 200
        body = response.json()
        assert body["data"] == []
        assert body["pagination"] == {"total": 5, "page": page, "limit": 2, "totalPages": 3}
        assert sum(c["count"] for c in body["facets"]["categories"]) == 9
