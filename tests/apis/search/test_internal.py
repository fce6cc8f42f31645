"""The search service's internal writes: service credentials only, idempotent, active products only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from apis.search.app import create_app
from apis.search.indexing import search_document
from kit.search import SearchIndex, SearchQuery
from kit.settings import Settings
from tests.apis.products.conftest import Tokens
from tests.support import asgi_client

DOCUMENT: dict[str, Any] = {
    "id": "p1",
    "sku": "LAMP-1",
    "name": {"en": "Brass Lantern", "fr": "Lanterne en laiton", "ar": ""},
    "description": None,
    "isActive": True,
    "createdAt": "2026-01-02T03:04:05.123456Z",
    "updatedAt": "2026-01-03T03:04:05Z",
    "category_names": [{"en": "Lanterns"}],
    "category_slugs": ["lanterns"],
    "category_parent_slugs": ["outdoor"],
    "variants": [{"id": "v1", "attributes": {"Watts": 40}, "price": "19.99", "stockQuantity": 3}],
}
Service = tuple[httpx.AsyncClient, dict[str, str]]


@pytest.fixture
async def service(search_settings: Settings, index: SearchIndex) -> AsyncIterator[Service]:
    """The search service on the conftest's index, and the headers of a service caller it trusts."""
    tokens = Tokens(search_settings.jwt_issuer)
    app = create_app(search_settings)
    app.state.token_verifier = tokens.verifier()
    async with asgi_client(app) as http:
        yield http, tokens.headers("service")


async def outdoor(index: SearchIndex) -> list[str]:
    """What the parent category `outdoor` finds: only the products written here sit under it."""
    page = await index.search(SearchQuery(category="outdoor", sort_by="createdAt"))
    return sorted(str(hit["id"]) for hit in page.hits)


def test_a_document_is_found_by_its_categories_and_their_parents() -> None:
    found = search_document(DOCUMENT)
    assert found.category_slugs == ["lanterns", "outdoor"]
    assert (found.name, found.description) == ({"en": "Brass Lantern", "fr": "Lanterne en laiton"}, {})
    [variant] = found.variants
    assert (str(variant.price), variant.stock_quantity, variant.attributes) == ("19.99", 3, {"Watts": "40"})
    assert found.created_at.isoformat() == "2026-01-02T03:04:05.123456+00:00"
    assert found.document == DOCUMENT


async def test_active_documents_are_indexed_and_inactive_ones_deleted_idempotently(
    service: Service, index: SearchIndex
) -> None:
    http, headers = service
    await http.post("/internal/index", json={"documents": [DOCUMENT | {"id": "p2"}]}, headers=headers)
    assert await outdoor(index) == ["p2"]
    body = {"documents": [DOCUMENT, DOCUMENT | {"id": "p2", "isActive": False}]}
    for _ in range(2):  # a retried call changes nothing more
        response = await http.post("/internal/index", json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"indexed": 1, "deleted": 1}
        assert await outdoor(index) == ["p1"]
    for _ in range(2):
        response = await http.post("/internal/delete", json={"productIds": ["p1", "never"]}, headers=headers)
        assert response.status_code == 200, response.text
        assert await outdoor(index) == []


@pytest.mark.parametrize(
    "path",
    ["/internal/index", "/internal/delete", "/internal/reindex", "/internal/reconcile", "/admin/reindex"],
)
async def test_writes_need_credentials(service: Service, path: str) -> None:
    http, _ = service
    assert (await http.post(path, json={})).status_code == 401


async def test_staff_cannot_write_through_the_internal_routes(
    search_settings: Settings, index: SearchIndex
) -> None:
    tokens = Tokens(search_settings.jwt_issuer)
    app = create_app(search_settings)
    app.state.token_verifier = tokens.verifier()
    async with asgi_client(app) as http:
        response = await http.post(
            "/internal/index", json={"documents": [DOCUMENT]}, headers=tokens.headers("admin")
        )
        assert response.status_code == 403
        refused = await http.post("/admin/reindex", headers=tokens.headers("supervisor"))
        assert (refused.status_code, refused.json()["code"]) == (403, "MissingPermission")


async def test_a_malformed_document_is_a_400(service: Service) -> None:
    http, headers = service
    bad = {key: value for key, value in DOCUMENT.items() if key != "createdAt"}
    response = await http.post("/internal/index", json={"documents": [bad]}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "InvalidDocument")
