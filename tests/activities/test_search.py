"""Search activities: index each product's current document, delete the products that are gone."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.search import IndexProductsInput, SearchActivities
from contracts.products import ProductsClient
from contracts.search import SearchClient
from kit.clients import ServiceClient
from kit.discovery.static import StaticRegistry
from kit.errors import Unavailable

DOCUMENT = {"id": "p1", "sku": "LAMP-1", "name": {"en": "Lamp"}, "isActive": True, "variants": []}


class Services:
    """The products service's documents route and the search service's write routes, as one transport."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, object]] = []
        self.search_down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        if request.url.host == "products" and request.url.path == "/internal/product-documents":
            found = {pid: DOCUMENT | {"id": pid} for pid in body["productIds"] if pid != "gone"}
            return httpx.Response(200, json=found)
        if request.url.host != "search":
            return httpx.Response(404, json={"message": "no such route"})
        if self.search_down:
            return httpx.Response(503, json={"message": "starting"})
        assert request.headers["Authorization"] == "Bearer service-token"
        self.writes.append((request.url.path, body))
        if request.url.path == "/internal/index":
            return httpx.Response(200, json={"indexed": len(body["documents"]), "deleted": 0})
        if request.url.path == "/internal/reconcile":
            return httpx.Response(200, json={"missing": 1, "stale": 2, "deleted": 3})
        if request.url.path == "/internal/delete":
            return httpx.Response(200, json={"indexed": 0, "deleted": len(body["productIds"])})
        return httpx.Response(404, json={"message": "no such route"})


@pytest.fixture
def services() -> Services:
    return Services()


@pytest.fixture
def activities(services: Services) -> SearchActivities:
    async def token() -> str:
        return "service-token"

    registry = StaticRegistry(defaults={"products": "http://products", "search": "http://search"})

    def client(name: str) -> ServiceClient:
        return ServiceClient(registry, name, token=token, transport=httpx.MockTransport(services))

    return SearchActivities(ProductsClient(client("products")), SearchClient(client("search")))


async def test_existing_products_are_indexed_and_missing_ones_deleted(
    activities: SearchActivities, services: Services
) -> None:
    result = await ActivityEnvironment().run(
        activities.index_products, IndexProductsInput(product_ids=["p1", "gone", "p2"])
    )
    assert services.writes == [
        ("/internal/index", {"documents": [DOCUMENT, DOCUMENT | {"id": "p2"}]}),
        ("/internal/delete", {"productIds": ["gone"]}),
    ]
    assert (result.indexed, result.deleted) == (2, 1)


async def test_a_product_that_exists_needs_no_delete(
    activities: SearchActivities, services: Services
) -> None:
    await ActivityEnvironment().run(activities.index_products, IndexProductsInput(product_ids=["p1"]))
    assert [path for path, _ in services.writes] == ["/internal/index"]


async def test_a_search_service_that_is_down_fails_the_attempt_for_temporal_to_retry(
    activities: SearchActivities, services: Services
) -> None:
    services.search_down = True
    with pytest.raises(Unavailable):
        await ActivityEnvironment().run(activities.index_products, IndexProductsInput(product_ids=["p1"]))
    services.search_down = False
    result = await ActivityEnvironment().run(
        activities.index_products, IndexProductsInput(product_ids=["p1"])
    )
    assert result.indexed == 1


async def test_a_reconcile_reports_what_the_search_service_repaired(
    activities: SearchActivities, services: Services
) -> None:
    result = await ActivityEnvironment().run(activities.reconcile_search)
    assert (result.missing, result.stale, result.deleted) == (1, 2, 3)
    assert [path for path, _ in services.writes] == ["/internal/reconcile"]
