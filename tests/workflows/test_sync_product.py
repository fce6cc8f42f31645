"""Product sync end to end on a real Temporal server: the products service's outbox signals the workflow, the
catalog worker publishes; a burst of changes is indexed at once, makes one `PRODUCT_UPDATED` carrying the
final document, and is indexed again after it (the search service's side: `tests/activities/test_search.py`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.catalog import CatalogActivities
from activities.search import IndexProductsInput, IndexProductsResult
from apis.products import demo
from apis.products.app import create_app
from apis.products.events import Notifier
from contracts.products import ProductsClient
from kit import db
from kit.bus import Event, open_bus
from kit.bus.memory import MemoryBus
from kit.clients import ServiceClient
from kit.discovery.static import StaticRegistry
from kit.infra import open_infra
from kit.settings import Settings
from tests.apis.products.conftest import Shop, Tokens
from tests.support import embedded_settings, eventually
from workers.catalog import build_worker
from workflows.sync_product import SyncProductBatchWorkflow, SyncProductWorkflow


@dataclass
class Indexing:
    """The search service's side, as the workflow sees it: the product ids of each indexing, in order, and
    the documents each read from the catalog (as the search service does).
    """

    calls: list[list[str]] = field(default_factory=list)
    read: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    catalog: ProductsClient | None = None
    down_for: int = 0  # attempts that fail first, as while the search service is down
    attempts: int = 0

    @activity.defn(name="index_products")
    async def index_products(self, data: IndexProductsInput) -> IndexProductsResult:
        self.attempts += 1
        if self.attempts <= self.down_for:
            raise ConnectionError("the search service is down")
        self.calls.append(data.product_ids)
        if self.catalog is not None:
            self.read.append(await self.catalog.documents(data.product_ids))
        return IndexProductsResult(indexed=len(data.product_ids), deleted=0)


@dataclass
class Platform:
    settings: Settings
    shop: Shop
    bus: MemoryBus
    indexing: Indexing

    def events(self, key: str | None = None) -> list[Event]:
        return [e for e in self.bus.broker.topic("product_events").events if key is None or e.key == key]

    def types(self, key: str) -> list[str]:
        return [e.type for e in self.events(key)]


@pytest.fixture
async def platform(tmp_path: Path, temporal_address: str) -> AsyncIterator[Platform]:
    """The products service (its relay talking to Temporal) and a catalog worker on a queue of this test."""
    queue = f"catalog-{uuid.uuid4().hex}"
    settings = embedded_settings(
        tmp_path,
        temporal_address=temporal_address,
        catalog_task_queue=queue,
        product_sync_debounce=1.0,
    )
    tokens = Tokens(settings.jwt_issuer)
    app = create_app(settings)
    app.state.token_verifier = tokens.verifier()

    async def service_token() -> str:
        return tokens.for_caller("service")

    temporal = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    indexing = Indexing()
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://products") as http,
        open_bus(settings.bus_url) as bus,
        ServiceClient(
            StaticRegistry(defaults={"products": "http://products"}),
            "products",
            token=service_token,
            transport=httpx.ASGITransport(app=manager.app),
        ) as products,
        Worker(
            temporal,
            task_queue=queue,
            workflows=[SyncProductWorkflow, SyncProductBatchWorkflow],
            activities=[
                CatalogActivities(ProductsClient(products), bus).publish_products,
                indexing.index_products,
            ],
        ),
    ):
        assert isinstance(bus, MemoryBus)
        indexing.catalog = ProductsClient(products)
        yield Platform(settings, Shop(http, tokens), bus, indexing)


async def test_a_burst_of_changes_is_published_once_with_the_final_document(platform: Platform) -> None:
    shop = platform.shop
    product = await shop.product(stock=10)
    pid, vid = product["id"], product["variants"][0]["id"]
    await eventually(lambda: platform.types(pid) == ["PRODUCT_CREATED"], within=20)
    assert platform.indexing.calls == [[pid]]  # at once, before the burst settled and it was published
    await asyncio.sleep(1.5)  # longer than the debounce: one change, nothing to index again
    assert platform.indexing.calls == [[pid]]

    await shop.call("PUT", f"/{pid}", json={"name": {"en": "Reading Lamp"}})
    await shop.call("POST", f"/{pid}/images", json=[{"imageUrl": "https://img.example/2.jpg"}])
    for _ in range(3):
        assert (await shop.adjust(vid, -1)).status_code == 201
    await eventually(lambda: len(platform.events(pid)) == 2, within=20)

    def final_document_indexed() -> bool:
        latest = platform.indexing.read[-1][pid]
        return latest["variants"][0]["stockQuantity"] == 7 and len(latest["images"]) == 2

    await eventually(final_document_indexed, within=20)
    await asyncio.sleep(1.5)  # longer than the debounce: nothing else follows
    # At once on the first change, then after publishing (unless every change was in before the first).
    assert len(platform.indexing.calls) in (2, 3)
    created, updated = platform.events(pid)
    assert [created.type, updated.type] == ["PRODUCT_CREATED", "PRODUCT_UPDATED"]
    assert updated.payload["name"] == {"en": "Reading Lamp"}
    assert updated.payload["variants"][0]["stockQuantity"] == 7
    assert len(updated.payload["images"]) == 2
    assert set(updated.payload) >= {
        "primaryImageUrl",
        "category_names",
        "category_slugs",
        "variant_attributes_flat",
    }

    assert (await shop.call("DELETE", f"/{pid}")).status_code == 204
    await eventually(lambda: platform.types(pid)[-1:] == ["PRODUCT_DELETED"], within=20)
    assert platform.events(pid)[-1].payload == {"id": pid}
    await eventually(lambda: pid not in platform.indexing.read[-1], within=20)  # the index drops it


async def test_a_product_is_indexed_once_the_search_service_is_back(platform: Platform) -> None:
    platform.indexing.down_for = 2
    product = await platform.shop.product(stock=1)
    await eventually(lambda: platform.indexing.calls == [[product["id"]]], within=30)
    assert platform.indexing.attempts == 3  # retried until it answered, nothing lost


async def test_a_generated_catalog_is_announced_by_batch(platform: Platform, tmp_path: Path) -> None:
    engine = db.open_engine(platform.settings.for_service("products").service_database_url)
    try:
        report = await demo.generate_catalog(
            db.session_factory(engine), Notifier.from_settings(platform.settings), products=5, seed=3
        )
    finally:
        await engine.dispose()
    assert report.products_created == 5

    def created() -> list[Event]:
        return [e for e in platform.events() if e.type == "PRODUCT_CREATED"]

    await eventually(lambda: len(created()) == 5, within=20)  # the service's relay runs on its own
    await eventually(lambda: len(platform.indexing.calls) == 1, within=20)  # one chunk, after publishing
    assert sorted(platform.indexing.calls[0]) == sorted(str(e.key) for e in created())
    assert all(e.payload["sku"].endswith(f"-3-{i:06d}") for i, e in enumerate(sorted(created(), key=_sku)))


def _sku(event: Event) -> str:
    return str(event.payload["sku"])[-6:]


async def test_the_catalog_worker_serves_its_configured_queue(tmp_path: Path, temporal_address: str) -> None:
    settings = embedded_settings(tmp_path, temporal_address=temporal_address, catalog_task_queue="catalog-x")
    temporal = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    async with open_infra(settings) as infra:
        worker = build_worker(temporal, infra)
    assert worker.task_queue == "catalog-x"
