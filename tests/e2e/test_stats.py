"""Through the gateway, on the embedded platform and on real PostgreSQL databases: the statistics count each
customer and each standing order once (card and cash alike, a cancelled one taken back out), also when an
order's event is delivered twice or published again under a new id; a delivered order's completed return
comes out once (its refund from the revenue, its units and refund from the top sellers), completed twice
and its event redelivered; only staff read them; a rebuild from the beginning of the topics ends with the
same figures.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from contracts import auth, orders
from kit.bus import Event, TopicReader, open_bus
from tests.e2e.conftest import EMBEDDED_AND_REAL, Shop
from tests.e2e.test_returns import delivered
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), EMBEDDED_AND_REAL]
CARD = {"paymentMethod": "CREDIT_CARD", "paymentToken": "tok_visa"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


async def product(shop: Shop, name: dict[str, str], price: str, cost: str) -> str:
    body = {
        "sku": f"SKU-{uuid.uuid4().hex[:10].upper()}",
        "name": name,
        "variants": [
            {"attributes": {"Size": "M"}, "price": price, "costPrice": cost, "initialStockQuantity": 20}
        ],
    }
    created = await shop.http.post("/products", json=body, headers=shop.admin)
    assert created.status_code == 201, created.text
    variant_id: str = created.json()["variants"][0]["id"]
    return variant_id


async def events(shop: Shop, topic: str) -> list[Event]:
    async with open_bus(shop.settings.bus_url) as bus:
        assert isinstance(bus, TopicReader)
        return await bus.read(topic)


async def figures(shop: Shop) -> dict[str, Any]:
    found = {}
    for name, path in (
        ("kpis", "/stats/kpis"),
        ("series", "/stats/revenue/time-series"),
        ("top", "/stats/products/top-selling?limit=10"),
    ):
        answer = await shop.http.get(path, headers={**shop.admin, "Accept-Language": "fr"})
        assert answer.status_code == 200, answer.text
        found[name] = answer.json()
    return found


async def test_the_figures_count_each_standing_order_once_and_a_rebuild_finds_them_again(shop: Shop) -> None:
    lamp = await product(shop, {"en": "Desk lamp", "fr": "Lampe de bureau"}, "40.00", "15.00")
    mug = await product(shop, {"en": "Mug"}, "8.50", "2.00")
    ann, _ = await shop.customer()
    bob, _ = await shop.customer()

    placed = [
        await shop.order(lamp, 2, headers=ann, **CARD),  # 80.00, costs 30.00
        await shop.order(mug, 3, headers=bob),  # cash on delivery: 25.50, costs 6.00
        await shop.order(lamp, 1, headers=bob, phone="0699999999", **CARD),  # cancelled below
    ]
    assert [p.status_code for p in placed] == [201, 201, 201], [p.text for p in placed]
    assert [p.json()["status"] for p in placed] == ["PAID", "CONFIRMED", "PAID"]
    cancelled = placed[2].json()["id"]
    cancel = await shop.http.post(f"/orders/{cancelled}/cancel", headers=bob)
    assert cancel.json()["status"] == "CANCELLED", cancel.text

    # The first order's event again, as a redelivery (same id) and as a republication (a new id).
    paid = next(e for e in await events(shop, orders.ORDER_EVENTS) if e.key == placed[0].json()["id"])
    async with open_bus(shop.settings.bus_url) as bus:
        await bus.publish(paid)
        await bus.publish(paid.model_copy(update={"id": str(uuid.uuid4())}))
    users = {e.key for e in await events(shop, auth.AUTH_EVENTS) if e.type == auth.USER_CREATED}

    async def settled() -> bool:
        kpis = (await figures(shop))["kpis"]
        return bool(kpis["orders"]["value"] == 2 and kpis["customers"]["value"] == len(users))

    await eventually(settled, within=60, interval=0.5)
    live = await figures(shop)
    assert live["kpis"] == {
        "customers": {"value": len(users), "change": "100.00"},
        "orders": {"value": 2, "change": "100.00"},
        "revenue": {"value": "105.50", "change": "100.00"},
        "growth": {"value": "100.00"},
    }
    assert live["top"] == [
        {"name": "Lampe de bureau", "attributes": {"Size": "M"}, "quantity": 2, "amount": "80.00"},
        {"name": "Mug", "attributes": {"Size": "M"}, "quantity": 3, "amount": "25.50"},
    ]
    this_month = live["series"][-1]
    assert this_month == {
        "name": MONTHS[datetime.now(UTC).month - 1],
        "expenses": "36.00",
        "revenueThisYear": "105.50",
        "revenueLastYear": "0.00",
    }
    assert len(live["series"]) == 12

    rebuilt = await shop.http.post("/stats/admin/rebuild", headers=shop.admin)
    assert rebuilt.status_code == 200, rebuilt.text
    assert (rebuilt.json()["customers"], rebuilt.json()["orders"]) == (len(users), 2)
    assert await figures(shop) == live


async def test_a_returned_order_comes_out_of_the_figures_once(shop: Shop) -> None:
    kettle = await product(shop, {"en": "Kettle", "fr": "Bouilloire"}, "30.00", "12.00")
    me, _ = await shop.customer()
    before = await figures(shop)
    order = await delivered(shop, kettle, 3, headers=me, **CARD)  # 90.00, costs 36.00
    items = [{"orderItemId": order["items"][0]["id"], "quantity": 2}]
    asked = await shop.http.post(
        "/orders/returns", json={"orderId": order["id"], "reason": "Too loud", "items": items}, headers=me
    )
    assert asked.status_code == 201, asked.text
    path = f"/orders/admin/returns/{asked.json()['id']}"
    for status in ("APPROVED", "COMPLETED", "COMPLETED"):  # the completion sent twice
        moved = await shop.http.put(path, json={"status": status}, headers=shop.admin)
        assert moved.status_code == 200, moved.text
    completed = [
        e
        for e in await events(shop, orders.ORDER_EVENTS)
        if e.type == orders.RETURN_REQUEST_COMPLETED and e.key == asked.json()["id"]
    ]
    assert len(completed) == 1, completed
    async with open_bus(shop.settings.bus_url) as bus:  # redelivered, and published again under a new id
        await bus.publish(completed[0])
        await bus.publish(completed[0].model_copy(update={"id": str(uuid.uuid4())}))

    def kettles(found: dict[str, Any]) -> list[dict[str, Any]]:
        return [t for t in found["top"] if t["name"] == "Bouilloire"]

    async def counted() -> bool:
        return bool(
            kettles(await figures(shop)) and [t["quantity"] for t in kettles(await figures(shop))] == [1]
        )

    await eventually(counted, within=60, interval=0.5)
    await asyncio.sleep(1)  # the replays had their chance to count twice
    after = await figures(shop)
    assert kettles(after) == [
        {"name": "Bouilloire", "attributes": {"Size": "M"}, "quantity": 1, "amount": "30.00"}
    ]
    assert after["kpis"]["orders"]["value"] == before["kpis"]["orders"]["value"] + 1  # the order stands
    sold = Decimal(after["kpis"]["revenue"]["value"]) - Decimal(before["kpis"]["revenue"]["value"])
    assert sold == Decimal("30.00")  # 90.00 sold, 60.00 refunded once
    month = (after["series"][-1], before["series"][-1])
    assert Decimal(month[0]["revenueThisYear"]) - Decimal(month[1]["revenueThisYear"]) == Decimal("30.00")
    assert Decimal(month[0]["expenses"]) - Decimal(month[1]["expenses"]) == Decimal("36.00")

    rebuilt = await shop.http.post("/stats/admin/rebuild", headers=shop.admin)
    assert rebuilt.status_code == 200, rebuilt.text
    assert await figures(shop) == after


async def test_only_staff_read_the_figures(shop: Shop) -> None:
    customer, _ = await shop.customer()
    for path in ("/stats/kpis", "/stats/revenue/time-series", "/stats/products/top-selling"):
        assert (await shop.http.get(path)).status_code == 401
        assert (await shop.http.get(path, headers=customer)).status_code == 403
    assert (await shop.http.post("/stats/admin/rebuild", headers=customer)).status_code == 403
    bad = await shop.http.get("/stats/products/top-selling?limit=0", headers=shop.admin)
    assert bad.status_code == 400
    assert "limit" in bad.json()["message"]
