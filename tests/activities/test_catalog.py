"""Catalog activities: publish each product's current document, with an event id that survives retries."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.catalog import CatalogActivities, PublishProductsInput
from contracts.products import ProductsClient
from kit.bus.memory import MemoryBus
from kit.clients import ServiceClient
from kit.discovery.static import StaticRegistry

DOCUMENT = {"id": "p1", "sku": "LAMP-1", "name": {"en": "Lamp"}, "variants": [], "images": []}


class Products:
    """The products service's internal route, as a transport: documents of the products that exist."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/internal/product-documents":
            return httpx.Response(404, json={"message": "no such route"})
        wanted = json.loads(request.content)["productIds"]
        return httpx.Response(200, json={pid: DOCUMENT | {"id": pid} for pid in wanted if pid != "gone"})


@pytest.fixture
def products() -> Products:
    return Products()


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    async with MemoryBus(f"memory://{uuid.uuid4().hex}") as bus:
        yield bus


@pytest.fixture
def activities(products: Products, bus: MemoryBus) -> CatalogActivities:
    async def token() -> str:
        return "service-token"

    client = ServiceClient(
        StaticRegistry(defaults={"products": "http://products"}),
        "products",
        token=token,
        transport=httpx.MockTransport(products),
    )
    return CatalogActivities(ProductsClient(client), bus)


def publication(*product_ids: str, created: bool = False) -> PublishProductsInput:
    return PublishProductsInput(
        product_ids=list(product_ids), publication_id=str(uuid.uuid4()), created=created
    )


async def test_an_existing_product_is_published_whole_as_updated(
    activities: CatalogActivities, bus: MemoryBus, products: Products
) -> None:
    await ActivityEnvironment().run(activities.publish_products, publication("p1"))
    [event] = bus.broker.topic("product_events").events
    assert (event.type, event.key, event.payload, event.source_service) == (
        "PRODUCT_UPDATED",
        "p1",
        DOCUMENT,
        "products",
    )
    assert products.requests[0].headers["Authorization"] == "Bearer service-token"


async def test_a_batch_of_new_products_is_published_as_created_and_a_missing_one_as_deleted(
    activities: CatalogActivities, bus: MemoryBus
) -> None:
    result = await ActivityEnvironment().run(
        activities.publish_products, publication("p1", "gone", created=True)
    )
    events = bus.broker.topic("product_events").events
    assert [(e.type, e.key, e.payload) for e in events] == [
        ("PRODUCT_CREATED", "p1", DOCUMENT),
        ("PRODUCT_DELETED", "gone", {"id": "gone"}),
    ]
    assert result.published == {"PRODUCT_CREATED": 1, "PRODUCT_UPDATED": 0, "PRODUCT_DELETED": 1}


async def test_a_retried_activity_publishes_the_same_event_ids(
    activities: CatalogActivities, bus: MemoryBus
) -> None:
    data = publication("p1", "p2")
    await ActivityEnvironment().run(activities.publish_products, data)
    await ActivityEnvironment().run(activities.publish_products, data)  # e.g. the first attempt timed out
    ids = [e.id for e in bus.broker.topic("product_events").events]
    assert ids[:2] == ids[2:]
    assert len(set(ids)) == 2
    other = publication("p1")
    await ActivityEnvironment().run(activities.publish_products, other)
    assert bus.broker.topic("product_events").events[-1].id not in ids  # a new publication, a new event
