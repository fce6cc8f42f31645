"""The search service's internal writes: service credentials only, idempotent, active products only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from apis.search.indexing import search_document
from apis.search.routes import internal
from kit.infra import Infra
from kit.search import SearchDocument
from kit.web import create_service
from tests.apis.products.conftest import Tokens
from tests.support import asgi_client, embedded_settings

DOCUMENT: dict[str, Any] = {
    "id": "p1",
    "sku": "LAMP-1",
    "name": {"en": "Desk Lamp", "fr": "Lampe de bureau", "ar": ""},
    "description": None,
    "isActive": True,
    "createdAt": "2026-01-02T03:04:05.123456Z",
    "updatedAt": "2026-01-03T03:04:05Z",
    "category_names": [{"en": "Lamps"}],
    "category_slugs": ["lamps"],
    "category_parent_slugs": ["lighting"],
    "variants": [{"id": "v1", "attributes": {"Watts": 40}, "price": "19.99", "stockQuantity": 3}],
}


@dataclass
class RecordingIndex:
    """The index's writes, in memory (what these routes do to it)."""

    stored: dict[str, SearchDocument] = field(default_factory=dict)

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        self.stored.update({d.id: d for d in documents})

    async def delete(self, product_ids: Sequence[str]) -> None:
        for product_id in product_ids:
            self.stored.pop(product_id, None)


@dataclass(frozen=True)
class State:
    index: RecordingIndex


@pytest.fixture
def index() -> RecordingIndex:
    return RecordingIndex()


@pytest.fixture
async def client(tmp_path: Path, index: RecordingIndex) -> AsyncIterator[tuple[httpx.AsyncClient, Tokens]]:
    settings = embedded_settings(tmp_path).for_service("search")

    @contextlib.asynccontextmanager
    async def state(_infra: Infra) -> AsyncIterator[State]:
        yield State(index)

    app = create_service(settings, title="search", routers=[internal.router], state=state)
    tokens = Tokens(settings.jwt_issuer)
    app.state.token_verifier = tokens.verifier()
    async with asgi_client(app) as http:
        yield http, tokens


def test_a_document_is_found_by_its_categories_and_their_parents() -> None:
    found = search_document(DOCUMENT)
    assert found.category_slugs == ["lamps", "lighting"]
    assert (found.name, found.description) == ({"en": "Desk Lamp", "fr": "Lampe de bureau"}, {})
    [variant] = found.variants
    assert (str(variant.price), variant.stock_quantity, variant.attributes) == ("19.99", 3, {"Watts": "40"})
    assert found.created_at.isoformat() == "2026-01-02T03:04:05.123456+00:00"
    assert found.document == DOCUMENT


async def test_active_documents_are_indexed_and_inactive_ones_deleted_idempotently(
    client: tuple[httpx.AsyncClient, Tokens], index: RecordingIndex
) -> None:
    http, tokens = client
    headers = tokens.headers("service")
    await http.post("/internal/index", json={"documents": [DOCUMENT | {"id": "p2"}]}, headers=headers)
    body = {"documents": [DOCUMENT, DOCUMENT | {"id": "p2", "isActive": False}]}
    for _ in range(2):  # a retried call changes nothing more
        response = await http.post("/internal/index", json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"indexed": 1, "deleted": 1}
        assert list(index.stored) == ["p1"]
    for _ in range(2):
        response = await http.post("/internal/delete", json={"productIds": ["p1", "never"]}, headers=headers)
        assert response.status_code == 200, response.text
    assert index.stored == {}


@pytest.mark.parametrize("caller", [None, "admin"])
async def test_only_services_may_write(client: tuple[httpx.AsyncClient, Tokens], caller: str | None) -> None:
    http, tokens = client
    response = await http.post(
        "/internal/index", json={"documents": [DOCUMENT]}, headers=tokens.headers(caller)
    )
    assert response.status_code == (401 if caller is None else 403)


async def test_a_malformed_document_is_a_400(client: tuple[httpx.AsyncClient, Tokens]) -> None:
    http, tokens = client
    bad = {key: value for key, value in DOCUMENT.items() if key != "createdAt"}
    response = await http.post(
        "/internal/index", json={"documents": [bad]}, headers=tokens.headers("service")
    )
    assert (response.status_code, response.json()["code"]) == (400, "InvalidDocument")
