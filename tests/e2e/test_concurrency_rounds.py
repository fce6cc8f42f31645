"""Rounds of a rush on a scarce stock: three times as many one-unit orders as units, card and cash, some
cancelled as soon as they answer, while the orders worker (its own process) is killed with SIGKILL at a
random moment and started again. In every round exactly the stock is shared out: what the settled orders
hold plus what is left is what there was, nothing is oversold, and the ledger reconciles.

Seeded: `COMMERCE_ROUNDS_SEED` replays a failing round, `COMMERCE_ROUNDS` runs more of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.e2e.conftest import Shop, open_shop, start_worker
from tests.figures import record
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
ROUNDS = int(os.environ.get("COMMERCE_ROUNDS", "3"))
SEED = int(os.environ.get("COMMERCE_ROUNDS_SEED", "20261202"))
HOLDING = {"PAID", "CONFIRMED"}
SETTLED = {*HOLDING, "FAILED", "CANCELLED"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(own_temporal: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    """The platform without its orders worker: each round runs that one as a process it can kill."""
    async with open_shop(
        own_temporal, tmp_path_factory.mktemp("platform"), queues=["users", "catalog"], answer_seconds=3
    ) as opened:
        yield opened


async def one_order(
    shop: Shop, variant_id: str, me: dict[str, str], rng: random.Random, cancel: bool
) -> str | None:
    """Place one order (a card or cash, at random); cancel it at once when `cancel`. Its id, if it got one.

    Each order has its own `Idempotency-Key`: without one, the same customer's same order within a
    minute is the first order again, and the rush would be two orders, not a rush.
    """
    headers = {**me, "Idempotency-Key": f"rush-{rng.getrandbits(64):016x}"}
    if rng.random() < 0.5:
        placed = await shop.order(
            variant_id, headers=headers, paymentMethod="CREDIT_CARD", paymentToken="tok_visa"
        )
    else:
        placed = await shop.order(variant_id, headers=headers)
    assert placed.status_code in (200, 201, 202, 409), placed.text
    order_id = placed.json().get("id") or _failed_order(placed)
    if cancel and order_id:
        refused_or_done = await shop.http.post(f"/orders/{order_id}/cancel", headers=me)
        assert refused_or_done.status_code in (200, 202, 409), refused_or_done.text
    return order_id


def _failed_order(answer: httpx.Response) -> str | None:
    """The id a 409 (out of stock) names in its details."""
    details = answer.json().get("details") or []
    return next((d["orderId"] for d in details if isinstance(d, dict) and "orderId" in d), None)


async def statuses(shop: Shop, order_ids: list[str]) -> list[str]:
    found = []
    for order_id in order_ids:
        response = await shop.http.get(f"/orders/{order_id}", headers=shop.admin)
        assert response.status_code == 200, response.text
        found.append(str(response.json()["status"]))
    return found


@pytest.mark.parametrize("round_number", range(ROUNDS))
async def test_a_rush_with_a_killed_worker_shares_out_exactly_the_stock(
    shop: Shop, round_number: int
) -> None:
    rng = random.Random(SEED + round_number)
    stock = rng.randint(3, 8)
    product_id, variant_id = await shop.product(stock=stock)
    me, _ = await shop.customer()
    worker = start_worker(shop)
    try:
        rush = [
            asyncio.create_task(one_order(shop, variant_id, me, rng, cancel=rng.random() < 0.25))
            for _ in range(3 * stock)
        ]
        await asyncio.sleep(rng.uniform(0.05, 1.5))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        worker = start_worker(shop)
        order_ids = [order_id for order_id in await asyncio.gather(*rush) if order_id]
        assert len(set(order_ids)) == len(order_ids), "the rush was deduplicated into fewer orders"

        async def all_settled() -> bool:
            return set(await statuses(shop, order_ids)) <= SETTLED

        with contextlib.suppress(AssertionError):  # an order still moving is counted as stuck below
            await eventually(all_settled, within=180, interval=0.5)
    finally:
        worker.kill()
        worker.wait()

    settled = await statuses(shop, order_ids)
    held = sum(1 for status in settled if status in HOLDING)
    left = await shop.stock(product_id, variant_id)
    report = await shop.http.get("/products/stock/reconcile", headers=shop.admin)
    record(
        "rounds",
        rounds=1,
        orders=len(order_ids),
        units=stock,
        sold=held,
        oversold=max(0, held - stock) + max(0, -left),
        lost=max(0, stock - held - left),
        stuck=sum(1 for status in settled if status not in SETTLED),
        ledger_mismatches=len(report.json()["mismatches"]),
        worker_kills=1,
    )
    assert set(settled) <= SETTLED, f"seed {SEED + round_number}: {settled}"
    assert (held + left, left >= 0) == (stock, True), f"seed {SEED + round_number}: {held} held, {left} left"
    assert report.json()["mismatches"] == [], f"seed {SEED + round_number}"
