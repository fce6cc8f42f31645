"""Through the gateway: an order always ends in a state that matches its money and its stock, whatever
races its cancellation, its fulfilment and its customer's double clicks.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.e2e.conftest import ADDRESS, Shop
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

INTERLEAVINGS, AT_ONCE, SEED = 50, 10, 20261201


async def later(seconds: float, call: Awaitable[httpx.Response]) -> httpx.Response:
    await asyncio.sleep(seconds)
    return await call


async def status_of(shop: Shop, order_id: str) -> str:
    response = await shop.http.get(f"/orders/{order_id}", headers=shop.admin)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def refunded(temporal: Client, order_id: str) -> bool:
    """Whether the order's saga completed a refund (the payment provider's side of the money)."""
    scheduled: dict[int, str] = {}
    done = False
    async for event in temporal.get_workflow_handle(f"order-{order_id}").fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            which = event.activity_task_completed_event_attributes.scheduled_event_id
            done = done or scheduled.get(which) == "refund_payment"
    return done


async def held_by(shop: Shop, variant_id: str) -> dict[str, int]:
    """Units each order still holds of the variant, from its stock ledger."""
    response = await shop.http.get(f"/products/stock/history/{variant_id}?limit=1000", headers=shop.admin)
    assert response.status_code == 200, response.text
    held: dict[str, int] = {}
    for movement in response.json():
        if order_id := movement["relatedOrderId"]:
            held[order_id] = held.get(order_id, 0) - movement["changeQuantity"]
    return held


async def test_cancel_racing_shipment_ends_with_money_stock_and_status_agreeing(shop: Shop) -> None:
    rng = random.Random(SEED)
    product_id, variant_id = await shop.product(stock=INTERLEAVINGS)
    me, _ = await shop.customer()
    temporal = await Client.connect(shop.settings.temporal_address)

    async def interleaving() -> tuple[str, httpx.Response, httpx.Response]:
        placed = await shop.order(
            variant_id,
            headers={**me, "Idempotency-Key": uuid.uuid4().hex},
            paymentMethod="CREDIT_CARD",
            paymentToken="tok_visa",
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]
        cancel = shop.http.post(f"/orders/{order_id}/cancel", headers=me)
        ship = shop.http.put(f"/orders/{order_id}/status", json={"status": "SHIPPED"}, headers=shop.admin)
        cancelled, shipped = await asyncio.gather(
            later(rng.uniform(0, 0.05), cancel), later(rng.uniform(0, 0.05), ship)
        )
        return order_id, cancelled, shipped

    outcomes: list[tuple[str, httpx.Response, httpx.Response]] = []
    for _ in range(INTERLEAVINGS // AT_ONCE):
        outcomes += await asyncio.gather(*(interleaving() for _ in range(AT_ONCE)))

    for order_id, cancelled, shipped in outcomes:
        cancel_won, ship_won = cancelled.status_code in (200, 202), shipped.status_code == 200
        assert cancel_won != ship_won, (cancelled.text, shipped.text)
        loser = shipped if cancel_won else cancelled
        assert loser.status_code == 409, loser.text
        assert loser.json()["code"] in ("InvalidStatusTransition", "OrderNotCancellable"), loser.text
        final = "CANCELLED" if cancel_won else "SHIPPED"
        await eventually(lambda: _is(shop, order_id, final), within=30)  # noqa: B023
        assert await refunded(temporal, order_id) == cancel_won
    held = await held_by(shop, variant_id)
    for order_id, cancelled, _ in outcomes:
        assert held.get(order_id, 0) == (0 if cancelled.status_code in (200, 202) else 1), order_id
    shipped_count = sum(1 for _, _, shipped in outcomes if shipped.status_code == 200)
    assert await shop.stock(product_id, variant_id) == INTERLEAVINGS - shipped_count
    report = await shop.http.get("/products/stock/reconcile", headers=shop.admin)
    assert report.json()["mismatches"] == []


async def _is(shop: Shop, order_id: str, status: str) -> bool:
    return await status_of(shop, order_id) == status


async def test_a_burst_of_sixteen_identical_orders_answers_one_order(shop: Shop) -> None:
    """A double-click burst: the duplicates wait for the first order without holding a connection."""
    product_id, variant_id = await shop.product(stock=10)
    me, _ = await shop.customer()
    body: dict[str, Any] = {
        "items": [{"variantId": variant_id, "quantity": 1}],
        "shippingAddress": ADDRESS,
        "phone": "0612345678",
        "paymentMethod": "CASH_ON_DELIVERY",
    }
    responses = await asyncio.gather(*(shop.http.post("/orders", json=body, headers=me) for _ in range(16)))
    assert sorted(r.status_code for r in responses) == [200] * 15 + [201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await shop.stock(product_id, variant_id) == 9


async def test_cancelling_a_cancelled_order_is_a_409(shop: Shop) -> None:
    _, variant_id = await shop.product()
    me, _ = await shop.customer()
    order = (await shop.order(variant_id, headers=me)).json()
    first, second = await asyncio.gather(
        *(shop.http.post(f"/orders/{order['id']}/cancel", headers=me) for _ in range(2))
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
    assert await status_of(shop, order["id"]) == "CANCELLED"
