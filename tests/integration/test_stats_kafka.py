"""The statistics on real Kafka and PostgreSQL: the service's own consumer group counts what is published
(each order once, a redelivery and a republication included), and a rebuild from the beginning of the
topics, by the route and by `commerce stats rebuild`, ends with the same figures.

A Kafka of its own (deploy/local/infra on free ports): the shared one's `auth_events` and `order_events`
hold every other test's events, which the figures would count.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from apis.stats.app import create_app
from commerce import cli
from contracts import auth, orders
from kit.bus import Event, open_bus
from tests.apis.products.conftest import Tokens
from tests.e2e.real_platform import Servers, private_servers
from tests.support import asgi_client, embedded_settings, eventually, real_server_url, scratch_database

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def kafka() -> Iterator[Servers]:
    with private_servers(("kafka",)) as servers:
        yield servers


def published(now: datetime) -> list[Event]:
    def order(kind: str, order_id: str, days_ago: int, total: str, status: str = "PAID") -> Event:
        item = {
            "variantId": "v-kettle",
            "productId": "p-kettle",
            "productName": "Kettle",
            "productNames": {"en": "Kettle", "fr": "Bouilloire"},
            "variantAttributes": {"Color": "Steel"},
            "priceAtTimeOfOrder": total,
            "costPriceAtTimeOfOrder": "4.00",
            "quantity": 1,
        }
        payload = {"id": order_id, "status": status, "totalAmount": total, "items": [item]}
        moment = now - timedelta(days=days_ago)
        return Event(
            type=kind,
            payload=payload,
            timestamp=moment,
            source_service="orders",
            topic=orders.ORDER_EVENTS,
            key=order_id,
        )

    users = [
        Event(
            type=auth.USER_CREATED,
            payload={"id": user, "name": user, "email": f"{user}@example.com"},
            timestamp=now - timedelta(days=days_ago),
            source_service="auth",
            topic=auth.AUTH_EVENTS,
            key=user,
        )
        for user, days_ago in (("ann", 1), ("bob", 40))
    ]
    paid = order(orders.ORDER_CREATED, "o-card", 2, "30.00")
    return [
        *users,
        paid,
        paid,  # redelivered
        paid.model_copy(update={"id": str(uuid.uuid4())}),  # published again
        order(orders.ORDER_CREATED, "o-cash", 45, "12.00", status="CONFIRMED"),
        order(orders.ORDER_CREATED, "o-gone", 3, "99.00"),
        order(orders.ORDER_CANCELLED, "o-gone", 0, "99.00", status="CANCELLED"),
    ]


async def figures(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    found = {}
    for path in ("/kpis", "/revenue/time-series", "/products/top-selling"):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
        found[path] = answer.json()
    return found


async def test_the_live_figures_and_a_rebuild_from_kafka_agree(kafka: Servers, tmp_path: Path) -> None:
    async with scratch_database(real_server_url("COMMERCE_TEST_POSTGRES_URL")) as database:
        settings = embedded_settings(tmp_path, bus_url=kafka.kafka, database_url=database)
        async with open_bus(settings.bus_url) as bus:
            for event in published(datetime.now(UTC)):
                await bus.publish(event)
        tokens = Tokens(settings.jwt_issuer)
        admin = tokens.headers("admin")
        app = create_app(settings)
        app.state.token_verifier = tokens.verifier()
        async with asgi_client(app) as client:
            expected = {
                "/kpis": {
                    "customers": {"value": 2, "change": "0.00"},  # 1 in the last 30 days, 1 in the 30 before
                    "orders": {"value": 2, "change": "0.00"},
                    "revenue": {"value": "42.00", "change": "150.00"},  # 30.00 against 12.00
                    "growth": {"value": "150.00"},
                },
                "/products/top-selling": [
                    {"name": "Kettle", "attributes": {"Color": "Steel"}, "quantity": 2, "amount": "42.00"}
                ],
            }

            async def counted() -> bool:  # the partitions are consumed in any order: wait for them all
                found = await figures(client, admin)
                return all(found[path] == value for path, value in expected.items())

            await eventually(counted, within=120, interval=0.5)
            live = await figures(client, admin)
            rebuilt = await client.post("/admin/rebuild", headers=admin)
            assert rebuilt.status_code == 200, rebuilt.text
            assert rebuilt.json() == {"events": 8, "applied": 7, "customers": 2, "orders": 2}
            assert await figures(client, admin) == live

            await cli.rebuild_stats(settings)
            assert await figures(client, admin) == live
