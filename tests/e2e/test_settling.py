"""`POST /orders` and a cancel answer as soon as the saga's report commits in the orders service: the
waiting request is woken by it, not by its next read of the order. Here the reads are an hour apart, so a
request not woken would wait out its whole minute (`answer_seconds`) before its last read.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from apis.orders import placing
from tests.e2e.conftest import Shop, open_shop

pytestmark = pytest.mark.slow
ANSWER_SECONDS = 60.0


@pytest_asyncio.fixture(loop_scope="function")
async def shop(own_temporal: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Shop]:
    monkeypatch.setattr(placing, "SETTLED_POLL", 3600.0)
    async with open_shop(own_temporal, tmp_path, answer_seconds=ANSWER_SECONDS) as opened:
        yield opened


async def test_an_order_and_its_cancel_answer_once_the_saga_reports(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=5)
    me, _ = await shop.customer()
    began = time.monotonic()
    placed = await shop.order(variant_id, headers=me, paymentMethod="CREDIT_CARD", paymentToken="tok_visa")
    assert (placed.status_code, placed.json()["status"]) == (201, "PAID")
    cancelled = await shop.http.post(f"/orders/{placed.json()['id']}/cancel", headers=me)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "CANCELLED")
    assert time.monotonic() - began < ANSWER_SECONDS  # neither waited out its time: both were woken
