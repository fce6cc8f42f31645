"""Every change is announced durably: a signal to the product's sync workflow (or a category event) is written
in the change's own transaction, so a refused change announces nothing and a crash after commit loses nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from apis.products.app import create_app
from kit.bus import open_bus
from kit.bus.memory import MemoryBus
from kit.outbox import OutboxMessage
from kit.settings import Settings
from tests.apis.products.conftest import Shop, Tokens, unique
from tests.support import asgi_client, eventually
from workflows import sync_product


async def sync_signals(engine: AsyncEngine) -> list[tuple[str, list[Any]]]:
    """(workflow id, signal args) of every recorded sync, oldest first."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(col(OutboxMessage.body))
            .where(col(OutboxMessage.kind) == "workflow")
            .order_by(col(OutboxMessage.seq))
        )
        return [(body["id"], body["signal_args"]) for (body,) in rows]


async def test_each_kind_of_change_signals_the_product_sync_once(shop: Shop, engine: AsyncEngine) -> None:
    leaf = await shop.category()
    product = await shop.product()
    pid, vid = product["id"], product["variants"][0]["id"]
    changes = [
        ("PUT", f"/{pid}", {"isActive": True}),
        ("POST", f"/{pid}/categories", {"categoryIds": [leaf["id"]]}),
        ("POST", f"/{pid}/images", [{"imageUrl": "https://x/2.png"}]),
        ("POST", f"/{pid}/variants", {"attributes": {"Size": "L"}, "price": "3"}),
        ("PUT", f"/{pid}/variants/{vid}", {"price": "4"}),
        ("POST", f"/stock/adjust/{vid}", {"changeQuantity": -1, "type": "ADJUSTMENT"}),
        ("DELETE", f"/{pid}/variants/{vid}", None),
        ("DELETE", f"/{pid}", None),
    ]
    for method, path, body in changes:
        assert (await shop.call(method, path, json=body)).status_code < 300, path
    signals = await sync_signals(engine)
    assert {workflow_id for workflow_id, _ in signals} == {f"product-sync-{pid}"}
    assert [args for _, args in signals] == [["created"]] + [["updated"]] * 7 + [["deleted"]]


async def test_a_refused_change_signals_nothing(shop: Shop, engine: AsyncEngine) -> None:
    product = await shop.product(stock=1)
    before = await sync_signals(engine)
    refused = await shop.adjust(product["variants"][0]["id"], -2)
    assert refused.status_code == 409
    assert await sync_signals(engine) == before


async def test_the_signal_carries_the_configured_queue_and_debounce(
    shop: Shop, engine: AsyncEngine, products_settings: Settings
) -> None:
    await shop.product()
    async with engine.connect() as connection:
        body: Any = await connection.scalar(
            sa.select(col(OutboxMessage.body)).where(col(OutboxMessage.kind) == "workflow")
        )
    assert body["workflow"] == "SyncProductWorkflow"
    assert body["signal"] == "product_changed"
    assert body["task_queue"] == sync_product.TASK_QUEUE
    assert body["args"][0]["debounce_seconds"] == products_settings.product_sync_debounce


async def test_category_changes_are_published_as_category_events(
    shop: Shop, products_settings: Settings
) -> None:
    category = await shop.category("garden")
    await shop.call("PUT", f"/categories/{category['id']}", json={"name": {"en": "Garden", "fr": "Jardin"}})
    await shop.call("DELETE", f"/categories/{category['id']}")
    async with open_bus(products_settings.bus_url) as bus:
        assert isinstance(bus, MemoryBus)
        topic = bus.broker.topic("product_events")
        await eventually(lambda: len(topic.events) == 3)
        events = list(topic.events)
    assert [(e.type, e.key, e.source_service) for e in events] == [
        ("CATEGORY_CREATED", category["id"], "products"),
        ("CATEGORY_UPDATED", category["id"], "products"),
        ("CATEGORY_DELETED", category["id"], "products"),
    ]
    assert events[1].payload["name"] == {"en": "Garden", "fr": "Jardin"}
    assert events[1].payload["slug"] == "garden"
    assert events[2].payload == {"id": category["id"]}


async def test_renaming_a_category_resyncs_its_products(shop: Shop, engine: AsyncEngine) -> None:
    leaf = await shop.category()
    product = await shop.product(categories=[leaf["id"]])
    await shop.call("PUT", f"/categories/{leaf['id']}", json={"slug": "renamed"})
    assert (await sync_signals(engine))[-1] == (f"product-sync-{product['id']}", ["updated"])


async def test_renaming_a_parent_or_moving_a_leaf_resyncs_the_products_beneath(
    shop: Shop, engine: AsyncEngine
) -> None:
    root, other = await shop.category(), await shop.category()
    leaf = await shop.category(parent=root["id"])
    product = await shop.product(categories=[leaf["id"]])
    expected = (f"product-sync-{product['id']}", ["updated"])
    await shop.call("PUT", f"/categories/{root['id']}", json={"slug": unique("renamed-")})
    assert (await sync_signals(engine))[-1] == expected
    count = len(await sync_signals(engine))
    assert (await shop.call("PUT", f"/categories/{leaf['id']}", json={"parentId": other["id"]})).is_success
    assert len(await sync_signals(engine)) == count + 1
    assert (await sync_signals(engine))[-1] == expected


async def test_a_change_committed_before_a_crash_reaches_temporal_after_a_restart(
    settings: Settings, temporal_address: str
) -> None:
    queue = f"catalog-{uuid.uuid4().hex}"  # polled by no worker: the workflow waits to be looked at
    down = settings.model_copy(update={"catalog_task_queue": queue})  # Temporal unreachable: nothing leaves
    tokens = Tokens(down.jwt_issuer)

    def app_for(current: Settings) -> FastAPI:
        app = create_app(current)
        app.state.token_verifier = tokens.verifier()
        return app

    async with asgi_client(app_for(down)) as client:
        product = await Shop(client, tokens).product()
    # the process is gone; its outbox rows wait in the database. Restart it with Temporal reachable.
    client_of_temporal = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    handle = client_of_temporal.get_workflow_handle(f"product-sync-{product['id']}")
    async with asgi_client(app_for(down.model_copy(update={"temporal_address": temporal_address}))):

        async def signalled() -> bool:
            try:
                history = await handle.fetch_history()
            except Exception:
                return False
            return any(
                e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in history.events
            )

        await eventually(signalled, within=20)
    description = await handle.describe()
    assert description.task_queue == queue
    await handle.terminate("test over")
