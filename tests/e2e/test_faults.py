"""Fault injection with real processes: the platform on private real servers (PostgreSQL, Redis, Kafka,
Elasticsearch, Temporal: deploy/local/infra on free ports, never the shared ones), every API and worker its
own process, and in each trial one part crashed (SIGKILL) at a random moment of a workload, then started
again with its data kept:

| fault | workload (each request retried until answered) | killed |
| --- | --- | --- |
| `orders_worker` | a rush of orders, each with its Idempotency-Key | `commerce worker orders` mid-saga |
| `products` | a rush of orders | `commerce serve products` while the saga reserves stock |

After recovery every trial checks what it touched: every order settled (never stuck PENDING or
CANCELLING), held plus left is the stock (never oversold) and the ledger reconciles with one ORDER movement
per order; on Kafka one event per change (none lost, none published twice under two ids) and each one
applied by the orders service's consumer (its `handled_events`); the search index converges on the catalog;
no cart line lost or doubled. Each fault records its figures (`faults.<fault>`: trials, survived, lost,
duplicated, oversold, stuck, events, seed) for the reliability report.

Seeded and bounded: `COMMERCE_FAULT_TRIALS` trials per fault (2 by default, as `bash tests/run` runs them),
`COMMERCE_FAULTS_SEED` the seed (a trial draws from its own, `<seed>:<fault>:<trial>`, named in its failure
message: run that trial's test id alone with the same seed to replay it). The full run, 20 trials per fault:

    COMMERCE_FAULT_TRIALS=20 python3 -m uv run pytest tests/e2e/test_faults.py
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from apis.orders import rules
from contracts import orders, products
from contracts.orders import OrderStatus
from kit.bus import Event, TopicReader, open_bus
from tests.e2e.conftest import ADDRESS, Shop
from tests.e2e.real_platform import Processes, Servers, private_servers
from tests.figures import record

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(900)]
TRIALS = int(os.environ.get("COMMERCE_FAULT_TRIALS", "2"))
SEED = os.environ.get("COMMERCE_FAULTS_SEED", "20261202")
SETTLED = {*rules.FINAL, OrderStatus.CONFIRMED, OrderStatus.PAID}
HOLDING = {OrderStatus.CONFIRMED, OrderStatus.PAID}
RECOVERY = 180  # seconds a trial waits for everything to settle after the fault
TRIAL = range(TRIALS)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    with private_servers() as servers:
        processes = Processes(servers, tmp_path_factory.mktemp("platform"))
        try:
            processes.start_all()
            yield processes
        finally:
            processes.stop_all()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(platform: Processes) -> AsyncIterator[Shop]:
    gateway = f"http://127.0.0.1:{platform.ports['gateway']}"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        settings = platform.settings()
        admin = await retried(
            lambda: Shop(http, settings, {}).login(
                settings.admin_email, settings.admin_password.get_secret_value()
            )
        )
        yield Shop(http, settings, admin)


# ---------------------------------------------------------------------------------------------- a trial


@dataclass
class Tally:
    """What one trial found; `problems` says what, for the failure message."""

    seed: str
    lost: int = 0
    duplicated: int = 0
    oversold: int = 0
    stuck: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    def count(self, kind: str, number: int, what: str) -> None:
        if number:
            setattr(self, kind, getattr(self, kind) + number)
            self.problems.append(f"{kind} {number}: {what}")

    def close(self, fault: str) -> None:
        """Record the trial's figures, then fail it if anything was lost, doubled, oversold or stuck."""
        survived = not self.problems
        record(
            f"faults.{fault}",
            trials=1,
            survived=int(survived),
            lost=self.lost,
            duplicated=self.duplicated,
            oversold=self.oversold,
            stuck=self.stuck,
            events=self.events,
            seed=SEED,
        )
        assert survived, f"seed {self.seed}: " + "; ".join(self.problems)


def trial_rng(fault: str, trial: int) -> tuple[random.Random, Tally]:
    seed = f"{SEED}:{fault}:{trial}"
    return random.Random(seed), Tally(seed)


async def crash(platform: Processes, part: str, rng: random.Random, downtime: tuple[float, float]) -> None:
    """SIGKILL `part` (a server of the private set, or an API or worker process), leave it down a random
    while, start it again."""
    servers: Servers = platform.servers
    if part in servers.urls or part in ("postgres", "redis", "kafka", "elasticsearch", "temporal"):
        await asyncio.to_thread(servers.stop, part)
        await asyncio.sleep(rng.uniform(*downtime))
        await asyncio.to_thread(servers.start, part)
    else:
        await asyncio.to_thread(platform.kill, part)
        await asyncio.sleep(rng.uniform(*downtime))
        await asyncio.to_thread(platform.start, part)


async def retried(call: Callable[[], Awaitable[Any]], seconds: float = RECOVERY) -> Any:
    """`call()` until it stops failing (an HTTP error, a 5xx: the part it needs is down): a client's retry."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await call()
        except (httpx.HTTPError, AssertionError, ServerError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.25)


class ServerError(Exception):
    """A 5xx answer: the request may or may not have done its work."""


def answered(response: httpx.Response, *ok: int) -> httpx.Response:
    if response.status_code >= 500:
        raise ServerError(f"{response.status_code} {response.text[:200]}")
    assert response.status_code in ok, f"{response.status_code} {response.text[:300]}"
    return response


async def until(check: Callable[[], Awaitable[bool]], seconds: float = RECOVERY) -> bool:
    """Whether `check()` came true within `seconds` (its failures count as not yet)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(httpx.HTTPError, ServerError, OSError, asyncpg.PostgresError):
            if await check():
                return True
        await asyncio.sleep(0.5)
    return False


# ---------------------------------------------------------------------------------------------- workloads


async def place_orders(shop: Shop, rng: random.Random, variant_id: str, count: int) -> list[str]:
    """`count` one-unit orders at once, card or cash, each retried with its own Idempotency-Key until it
    is answered (an order refused for want of stock has an id too): the ids of the orders placed.
    """

    async def one(card: bool) -> str:
        key = f"fault-{uuid.uuid4().hex}"
        body: dict[str, Any] = {
            "items": [{"variantId": variant_id, "quantity": 1}],
            "shippingAddress": ADDRESS,
            "phone": "+33 6 12 34 56 78",
            "guestEmail": f"g-{key[-10:]}@example.com",
            "guestName": "Gus Guest",
            "paymentMethod": "CREDIT_CARD" if card else "CASH_ON_DELIVERY",
            **({"paymentToken": "tok_visa"} if card else {}),
        }

        async def post() -> str:
            placed = answered(
                await shop.http.post("/orders", json=body, headers={"Idempotency-Key": key}),
                200,
                201,
                202,
                409,
            )
            order_id = placed.json().get("id") or _refused_order(placed)
            assert order_id, placed.text
            return str(order_id)

        return str(await retried(post))

    return list(await asyncio.gather(*(one(rng.random() < 0.5) for _ in range(count))))


def _refused_order(answer: httpx.Response) -> str | None:
    details = answer.json().get("details") or []
    return next((d["orderId"] for d in details if isinstance(d, dict) and "orderId" in d), None)


# ---------------------------------------------------------------------------------------------- checks


async def read_topic(platform: Processes, topic: str) -> list[Event]:
    async with open_bus(platform.servers.kafka, client_id="fault-audit") as bus:
        assert isinstance(bus, TopicReader)
        return await bus.read(topic)


async def check_orders(shop: Shop, platform: Processes, tally: Tally, order_ids: list[str]) -> dict[str, str]:
    """Every order settles, and Kafka has one event (one id) for the status each reached; their statuses."""

    async def statuses() -> dict[str, str]:
        found = {}
        for order_id in order_ids:
            response = answered(await shop.http.get(f"/orders/{order_id}", headers=shop.admin), 200)
            found[order_id] = str(response.json()["status"])
        return found

    async def settled() -> bool:
        return set((await statuses()).values()) <= SETTLED

    await until(settled)
    final: dict[str, str] = await retried(statuses)
    tally.count("stuck", sum(1 for s in final.values() if s not in SETTLED), f"orders not settled: {final}")

    expected = {order_id: rules.EVENTS[OrderStatus(status)] for order_id, status in final.items()}

    async def published() -> dict[str, dict[str, set[str]]]:
        ids: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for event in await read_topic(platform, orders.ORDER_EVENTS):
            if event.key in expected:
                ids[event.key][event.type].add(event.id)
        return ids

    async def all_published() -> bool:
        ids = await published()
        return all(ids[o][t] for o, t in expected.items())

    await until(all_published, seconds=60)
    ids = await published()
    tally.events += sum(len(i) for by_type in ids.values() for i in by_type.values())
    missing = [o for o, t in expected.items() if not ids[o][t]]
    tally.count("lost", len(missing), f"orders whose {orders.ORDER_EVENTS} event never came: {missing}")
    twice = {o: t for o, by_type in ids.items() for t, i in by_type.items() if len(i) > 1}
    tally.count("duplicated", len(twice), f"order events published under two ids: {twice}")
    return final


async def check_stock(
    shop: Shop, tally: Tally, product_id: str, variant_id: str, stock: int, final: dict[str, str]
) -> None:
    """Held plus left is the stock; one ORDER movement per order; the ledger reconciles."""
    held = sum(1 for status in final.values() if status in HOLDING)
    left = await retried(lambda: shop.stock(product_id, variant_id))
    tally.count("oversold", max(0, held - stock) + max(0, -left), f"{held} held of {stock}, {left} left")
    tally.count("lost", max(0, stock - held - left), f"units gone: {held} held + {left} left < {stock}")
    tally.count("duplicated", max(0, held + left - stock), f"units made: {held} held + {left} left > {stock}")
    history = answered(
        await shop.http.get(f"/products/stock/history/{variant_id}", headers=shop.admin), 200
    ).json()
    taken = Counter(m["relatedOrderId"] for m in history if m["type"] == products.ORDER_MOVEMENT)
    tally.count("duplicated", sum(n - 1 for n in taken.values()), f"orders reserving twice: {taken}")
    report = answered(await shop.http.get("/products/stock/reconcile", headers=shop.admin), 200).json()
    tally.count("lost", len(report["mismatches"]), f"ledger mismatches: {report['mismatches']}")


async def check_consumed(
    platform: Processes, tally: Tally, topic: str, keys: set[str], types: set[str]
) -> None:
    """Every event of `types` about `keys` on `topic` is applied by the orders service (its handled_events);
    returns nothing, counts into `tally`."""

    async def on_kafka() -> list[Event]:
        return [e for e in await read_topic(platform, topic) if e.key in keys and e.type in types]

    async def handled(ids: set[str]) -> set[str]:
        connection = await asyncpg.connect(f"{platform.servers.postgres}/orders")
        try:
            rows = await connection.fetch(
                "SELECT id FROM handled_events WHERE id = ANY($1::text[])", list(ids)
            )
        finally:
            await connection.close()
        return {row["id"] for row in rows}

    async def all_applied() -> bool:
        ids = {e.id for e in await on_kafka()}
        return await handled(ids) == ids

    await until(all_applied, seconds=90)
    events = await on_kafka()
    ids = {e.id for e in events}
    tally.events += len(ids)
    unapplied = ids - await handled(ids)
    tally.count("lost", len(unapplied), f"events on {topic} never applied by the orders service: {unapplied}")


async def order_rush(shop: Shop, rng: random.Random) -> tuple[str, str, int, asyncio.Task[list[str]]]:
    stock = rng.randint(3, 6)
    product_id, variant_id = await retried(lambda: shop.product(stock=stock))
    rush = asyncio.create_task(place_orders(shop, rng, variant_id, 2 * stock))
    return product_id, variant_id, stock, rush


async def saga_trial(
    shop: Shop,
    platform: Processes,
    fault: str,
    trial: int,
    part: str,
    delay: tuple[float, float],
    downtime: tuple[float, float],
) -> None:
    """A rush of orders; `part` crashed after a random `delay` and started again after a random `downtime`;
    then every order settles, once, with the stock shared out exactly."""
    rng, tally = trial_rng(fault, trial)
    product_id, variant_id, stock, rush = await order_rush(shop, rng)
    await asyncio.sleep(rng.uniform(*delay))
    log.info("%s: crashing %s", tally.seed, part)
    await crash(platform, part, rng, downtime)
    log.info("%s: %s back", tally.seed, part)
    order_ids = await rush
    log.info("%s: %d orders answered", tally.seed, len(order_ids))
    final = await check_orders(shop, platform, tally, order_ids)
    log.info("%s: orders checked", tally.seed)
    await check_stock(shop, tally, product_id, variant_id, stock, final)
    tally.close(fault)


# ---------------------------------------------------------------------------------------------- the faults


@pytest.mark.parametrize("trial", TRIAL)
async def test_orders_worker_killed_mid_saga(shop: Shop, platform: Processes, trial: int) -> None:
    await saga_trial(shop, platform, "orders_worker", trial, "worker:orders", (0.05, 1.5), (0, 1.5))


@pytest.mark.parametrize("trial", TRIAL)
async def test_products_killed_during_stock_reservation(shop: Shop, platform: Processes, trial: int) -> None:
    await saga_trial(shop, platform, "products", trial, "products", (0.05, 1.0), (0, 1.5))
