"""Operators' search through the gateway and Temporal's visibility: an order's `OrderStatus` search attribute
is current through every status (shipped, delivered and cancelled included), and each query the README's
Operators part shows finds the orders it says, on a real Temporal server.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus

from tests.e2e.conftest import Shop, open_shop, start_worker
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
README = Path(__file__).parents[2] / "README.md"


def readme_queries() -> dict[str, str]:
    """The queries of the README's Operators part, each by the first word of the comment above it."""
    text = README.read_text()
    part = text[text.index("### Operators") :]
    part = part[: part.index("\n### ", 1)]
    queries, label = {}, ""
    for line in part.splitlines():
        if line.startswith("# "):
            label = line[2:].split(":")[0]
        elif match := re.fullmatch(r'temporal workflow list --query "(.+)"', line):
            queries[label] = match.group(1)
    return queries


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(own_temporal: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    """The platform without its orders worker: the test starts it once it has seen an order stuck."""
    async with open_shop(
        own_temporal, tmp_path_factory.mktemp("platform"), queues=["users", "catalog"], answer_seconds=10
    ) as opened:
        yield opened


@pytest.fixture(scope="module")
def worker(shop: Shop) -> Iterator[Callable[[], None]]:
    """Starts `commerce worker orders` for the module on first call (its start takes seconds to a minute
    on a loaded machine), and stops it at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        if not started:
            started.append(start_worker(shop))

    yield start
    for process in started:
        process.kill()
        process.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def temporal(own_temporal: str) -> Client:
    return await Client.connect(own_temporal)


async def listed(temporal: Client, query: str, expected: set[str], within: float = 30) -> None:
    """The query finds exactly the workflows of `expected` (order ids), once visibility has caught up."""
    found: set[str] = set()

    async def exactly() -> bool:
        found.clear()
        found.update([w.id.removeprefix("order-") async for w in temporal.list_workflows(query)])
        return found == expected

    await eventually(exactly, within=within, interval=0.2)


async def status_is(temporal: Client, order_id: str, status: str, within: float = 30) -> None:
    await listed(temporal, f"OrderId = '{order_id}' AND OrderStatus = '{status}'", {order_id}, within)


async def place(shop: Shop, variant_id: str, *statuses: int, **fields: Any) -> dict[str, Any]:
    response = await shop.order(variant_id, paymentMethod="CREDIT_CARD", paymentToken="tok_visa", **fields)
    assert response.status_code in statuses, response.text
    body: dict[str, Any] = response.json()
    return body


async def staff_set(shop: Shop, order_id: str, status: str) -> None:
    response = await shop.http.put(f"/orders/{order_id}/status", json={"status": status}, headers=shop.admin)
    assert (response.status_code, response.json()["status"]) == (200, status), response.text


async def test_the_readme_queries_find_stuck_failed_and_cancelled_orders(
    shop: Shop, temporal: Client, worker: Callable[[], None]
) -> None:
    queries = readme_queries()
    assert set(queries) == {"stuck", "failed", "cancelled", "customer"}
    _, variant_id = await shop.product(stock=20)

    stuck = (await place(shop, variant_id, 202, guestEmail="stuck@example.com"))["id"]  # no worker yet
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stuck_query = queries["stuck"].replace("$SINCE", since)
    await listed(temporal, stuck_query, {stuck})
    await listed(temporal, queries["stuck"].replace("$SINCE", "2000-01-01T00:00:00Z"), set())  # not yet

    worker()
    await status_is(temporal, stuck, "PAID", within=120)  # its saga ran at last: no longer stuck
    await listed(temporal, stuck_query, set())

    declined = await shop.order(variant_id, paymentMethod="CREDIT_CARD", paymentToken="tok_declined")
    assert declined.status_code == 402, declined.text
    failed = declined.json()["details"][0]["orderId"]
    placed = await place(shop, variant_id, 201, guestEmail="ada@example.com")
    cancelled = await shop.http.post(
        f"/orders/{placed['id']}/cancel", params={"guest_token": placed["guest_token"]}
    )
    assert cancelled.json()["status"] == "CANCELLED", cancelled.text

    await listed(temporal, queries["failed"], {failed})
    await listed(temporal, queries["cancelled"], {placed["id"]})
    await listed(temporal, queries["customer"], {placed["id"]})
    await listed(temporal, queries["customer"].replace("ada@", "stuck@"), {stuck})


async def test_a_shipped_then_delivered_order_is_listed_by_its_current_status(
    shop: Shop, temporal: Client, worker: Callable[[], None]
) -> None:
    _, variant_id = await shop.product(stock=5)
    worker()
    order_id = (await place(shop, variant_id, 201, 202))["id"]  # 202: the worker is still starting
    await status_is(temporal, order_id, "PAID", within=120)
    await staff_set(shop, order_id, "SHIPPED")
    await status_is(temporal, order_id, "SHIPPED")
    await staff_set(shop, order_id, "DELIVERED")
    await status_is(temporal, order_id, "DELIVERED")
    saga = temporal.get_workflow_handle(f"order-{order_id}")
    assert (await saga.describe()).status == WorkflowExecutionStatus.COMPLETED  # a final status ends it

    story = (await shop.http.get(f"/orders/{order_id}/timeline", headers=shop.admin)).json()["entries"]
    assert [e["text"] for e in story if e["kind"] == "signal"] == [
        "The orders service told the saga the order is now SHIPPED",
        "The orders service told the saga the order is now DELIVERED",
    ]
    assert [e["text"] for e in story if e["kind"] == "timer"] == [
        "Waiting up to 30 days for the order to ship or be cancelled",
        "Stopped waiting for shipping or a cancellation",
        "Waiting up to 60 days for the order to be delivered",
        "The order reached its final status: the saga stops following it",
    ]
    assert [e["text"] for e in story if e["kind"] == "ended"] == ["The saga ended: the order is DELIVERED"]
