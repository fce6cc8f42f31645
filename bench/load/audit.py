"""After the load, what the platform holds must add up: through the admin API and the event bus.

- every order an answer named exists (and, on a platform of the run's own, no other order does unnamed);
- after a settle wait, none is stuck `PENDING` or `CANCELLING`, and each answer agrees with where its order
  ended (201/202 held the stock, 409 failed);
- per variant: the units the holding orders took plus the stock left are the initial stock, never negative
  (no oversell, nothing lost or made), each order's `ORDER` movements net its quantity (or nothing, for an
  order that failed), and `GET /products/stock/reconcile` finds no drift;
- each settled order's event (`order_events`, the one its status publishes) is there once, under one id.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from typing import Any

import httpx

from apis.orders import rules
from contracts import orders as contract
from contracts import products
from contracts.orders import OrderStatus
from kit.bus import TopicReader, open_bus

UNSETTLED = {OrderStatus.PENDING, OrderStatus.CANCELLING}
RELEASED = {OrderStatus.FAILED, OrderStatus.CANCELLED}
SHOWN = 10  # examples kept per finding


def stock_of(listing: dict[str, Any]) -> dict[str, int]:
    """Variant id -> stock, from a page of `GET /products`."""
    return {v["id"]: int(v["stockQuantity"]) for p in listing["data"] for v in p.get("variants", [])}


async def all_orders(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every order the platform holds, by id (the staff listing, 100 a page, four pages at a time)."""

    async def page(number: int) -> dict[str, Any]:
        response = await http.get("/orders", params={"page": number, "limit": 100}, headers=admin)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    first = await page(1)
    gate = asyncio.Semaphore(4)

    async def gated(number: int) -> dict[str, Any]:
        async with gate:
            return await page(number)

    rest = await asyncio.gather(*(gated(n) for n in range(2, first["pagination"]["totalPages"] + 1)))
    return {order["id"]: order for body in (first, *rest) for order in body["data"]}


async def order_events(bus_url: str) -> dict[str, Counter[str]]:
    """Order id -> how many distinct event ids of each type `order_events` holds for it."""
    async with open_bus(bus_url, client_id="load-audit") as bus:
        assert isinstance(bus, TopicReader)
        events = await bus.read(contract.ORDER_EVENTS)
    ids: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for event in events:
        ids[event.key][event.type].add(event.id)
    return {
        key: Counter({kind: len(found) for kind, found in by_type.items()}) for key, by_type in ids.items()
    }


def _finding(found: list[Any]) -> dict[str, Any]:
    return {"count": len(found), "examples": found[:SHOWN]}


async def audit(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    *,
    answered: list[dict[str, Any]],
    initial: dict[str, int],
    own_platform: bool,
    bus_url: str | None,
    settle_seconds: float = 90.0,
) -> dict[str, Any]:
    """The findings (each `{count, examples}`) and `clean`: true when every count is zero."""
    mine = {order["id"]: order for order in answered}
    deadline = time.monotonic() + settle_seconds
    settle_started = time.monotonic()
    while True:
        held = await all_orders(http, admin)
        unsettled = [
            i for i, o in held.items() if (own_platform or i in mine) and o["status"] in UNSETTLED
        ]  # on its own platform, an order whose answer was lost (a 502) must settle too
        if not unsettled or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    settled_after = time.monotonic() - settle_started
    audited = held if own_platform else {i: o for i, o in held.items() if i in mine}
    missing = sorted(set(mine) - set(held))
    unnamed = sorted(set(audited) - set(mine))  # a request that timed out may still have placed its order
    stuck = [f"{i} {o['status']}" for i, o in audited.items() if o["status"] in UNSETTLED]
    disagreeing = [
        f"{i}: answered {mine[i]['answer']}, now {audited[i]['status']}"
        for i in mine
        if i in audited
        and audited[i]["status"] not in UNSETTLED
        and (mine[i]["answer"] == 409) != (audited[i]["status"] in RELEASED)
    ]

    taken: Counter[str] = Counter()
    for order in audited.values():
        if order["status"] not in RELEASED | UNSETTLED:
            for item in order["items"]:
                taken[item["variantId"]] += item["quantity"]
    listing = await http.get("/products", params={"page": 1, "limit": 50}, headers=admin)
    listing.raise_for_status()
    left = stock_of(listing.json())
    ordered = {item["variantId"] for order in audited.values() for item in order["items"]}
    oversold, unbalanced = [], []
    for variant in sorted(ordered | set(initial)):
        start, now = initial.get(variant), left.get(variant)
        if start is None or now is None:
            unbalanced.append(f"{variant}: not on the first page of the catalog")
            continue
        if now < 0 or taken[variant] > start:
            oversold.append(f"{variant}: {taken[variant]} held of {start}, {now} left")
        if taken[variant] + now != start:
            unbalanced.append(f"{variant}: {taken[variant]} held + {now} left != {start}")

    moved: dict[tuple[str, str], int] = defaultdict(int)
    reserved: Counter[tuple[str, str]] = Counter()
    for variant in sorted(ordered):
        response = await http.get(f"/products/stock/history/{variant}", params={"limit": 1000}, headers=admin)
        response.raise_for_status()
        for movement in response.json():
            if movement["relatedOrderId"] in audited:
                moved[(movement["relatedOrderId"], variant)] += movement["changeQuantity"]
                reserved[(movement["relatedOrderId"], variant)] += movement["type"] == products.ORDER_MOVEMENT
    movements = []
    for order_id, order in audited.items():
        if order["status"] in UNSETTLED:
            continue
        for item in order["items"]:
            expected = 0 if order["status"] in RELEASED else -item["quantity"]
            found = moved.get((order_id, item["variantId"]), 0)
            if found != expected or reserved[(order_id, item["variantId"])] > 1:
                movements.append(f"{order_id} {item['variantId']}: moved {found}, expected {expected}")
    reconcile = await http.get("/products/stock/reconcile", headers=admin)
    reconcile.raise_for_status()
    drift = reconcile.json()["mismatches"]

    lost: list[str] = []
    doubled: list[str] = []
    if bus_url:
        expected_events = {
            i: rules.EVENTS[OrderStatus(o["status"])]
            for i, o in audited.items()
            if o["status"] not in UNSETTLED
        }
        until = time.monotonic() + 60  # the outbox relay publishes after the commit
        while True:
            published = await order_events(bus_url)
            lost = [f"{i} {t}" for i, t in expected_events.items() if not published.get(i, Counter())[t]]
            if not lost or time.monotonic() > until:
                break
            await asyncio.sleep(2)
        doubled = [f"{i} {t} x{published[i][t]}" for i, t in expected_events.items() if published[i][t] > 1]

    findings = {
        "missing": _finding(missing),
        "stuck": _finding(stuck),
        "answer_disagrees": _finding(disagreeing),
        "oversold": _finding(oversold),
        "unbalanced": _finding(unbalanced),
        "movements": _finding(movements),
        "ledger_drift": _finding(drift),
        "events_lost": _finding(lost),
        "events_doubled": _finding(doubled),
    }
    statuses = Counter(o["status"] for o in audited.values())
    return {
        "clean": all(f["count"] == 0 for f in findings.values()),
        "orders_answered": len(mine),
        "orders_audited": len(audited),
        "orders_unnamed": _finding(unnamed),
        "statuses": dict(statuses),
        "units_held": sum(taken.values()),
        "variants": len(ordered | set(initial)),
        "settled_after_s": round(settled_after, 1),
        "events_read": bool(bus_url),
        **findings,
    }
