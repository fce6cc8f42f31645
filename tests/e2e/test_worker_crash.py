"""A worker killed (SIGKILL) in the middle of sagas, then restarted: every order finishes, and no unit
of stock is lost or counted twice.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e.conftest import Shop, open_shop, pending, start_worker
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
ORDERS = 12


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(own_temporal: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    """The platform without its orders worker: the test runs that one as a separate process."""
    async with open_shop(
        own_temporal, tmp_path_factory.mktemp("platform"), queues=["users", "catalog"], answer_seconds=3
    ) as opened:
        yield opened


async def test_a_killed_worker_loses_no_order_and_no_unit(shop: Shop) -> None:
    variants = [await shop.product(stock=100) for _ in range(3)]
    worker = start_worker(shop)
    try:
        placing = [
            asyncio.create_task(shop.order(variants[n % 3][1], quantity=1, paymentMethod="CREDIT_CARD"))
            for n in range(ORDERS)
        ]
        await eventually(lambda: _mid_saga(shop, variants), within=60, interval=0.005)
        worker.send_signal(signal.SIGKILL)  # some units are reserved, some orders are not finished
        worker.wait()
        killed_while_pending = await pending(shop)
        worker = start_worker(shop)
        answers = await asyncio.gather(*placing)
        assert all(a.status_code in (201, 202) for a in answers), [a.text for a in answers]
        await eventually(lambda: _none_pending(shop), within=120)
    finally:
        worker.kill()
        worker.wait()

    assert killed_while_pending > 0
    orders = (await shop.http.get("/orders", params={"limit": 100}, headers=shop.admin)).json()["data"]
    assert sorted(o["status"] for o in orders) == ["PAID"] * ORDERS
    for product_id, variant_id in variants:
        expected = 100 - sum(1 for n in range(ORDERS) if variants[n % 3][1] == variant_id)
        assert await shop.stock(product_id, variant_id) == expected
        history = (await shop.http.get(f"/products/stock/history/{variant_id}", headers=shop.admin)).json()
        taken = [m for m in history if m["type"] == "ORDER"]
        assert len(taken) == len({m["relatedOrderId"] for m in taken}) == 100 - expected
    report = await shop.http.get("/products/stock/reconcile", headers=shop.admin)
    assert report.json()["mismatches"] == []


async def test_an_order_placed_while_no_worker_runs_is_accepted_then_placed(shop: Shop) -> None:
    product_id, variant_id = await shop.product(stock=5)
    accepted = await shop.order(variant_id, quantity=2)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "PENDING"
    location = accepted.headers["location"]
    worker = start_worker(shop)
    try:
        await eventually(lambda: _status_at(shop, location, "CONFIRMED"), within=60)
    finally:
        worker.kill()
        worker.wait()
    assert await shop.stock(product_id, variant_id) == 3


async def _status_at(shop: Shop, location: str, status: str) -> bool:
    order = await shop.http.get(location, headers=shop.admin)
    return bool(order.json()["status"] == status)


async def _mid_saga(shop: Shop, variants: list[tuple[str, str]]) -> bool:
    """The worker has reserved some units, and some orders are not settled yet."""
    reserved = [await shop.stock(p, v) < 100 for p, v in variants]
    return any(reserved) and await pending(shop) > 0


async def _none_pending(shop: Shop) -> bool:
    return await pending(shop) == 0
