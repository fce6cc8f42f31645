"""Fault injection with real processes: the platform on private real servers (PostgreSQL, Redis, Kafka,
Elasticsearch, Temporal: deploy/local/infra on free ports, never the shared ones), every API and worker its
own process, and in each trial one part crashed (SIGKILL) at a random moment of a workload, then started
again with its data kept:

| fault | workload (each request retried until answered) | killed |
| --- | --- | --- |
| `orders_worker` | a rush of orders, each with its Idempotency-Key | `commerce worker orders` mid-saga |
| `products` | a rush of orders | `commerce serve products` while the saga reserves stock |
| `orders_service` | a rush of orders | `commerce serve orders` right after it answered the first |
| `kafka` | registrations | the broker |
| `elasticsearch` | products created, renamed, deleted | the search engine |
| `redis` | guest carts filled (a line checked on the cart before it is sent again) | the cache |
| `postgres` | orders, registrations and product changes at once | the database server |
| `temporal` | a rush of orders | the Temporal server mid-saga |

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
from functools import partial
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from apis.orders import rules
from contracts import auth, orders, products
from contracts.orders import OrderStatus
from kit.bus import Event, TopicReader, open_bus
from tests.e2e.conftest import ADDRESS, Shop
from tests.e2e.real_platform import SERVERS, Processes, private_servers
from tests.figures import record

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(900)]
TRIALS = int(os.environ.get("COMMERCE_FAULT_TRIALS", "2"))
SEED = os.environ.get("COMMERCE_FAULTS_SEED", "20261202")
SETTLED = {*orders.FINAL, OrderStatus.CONFIRMED, OrderStatus.PAID}
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
async def gateway(platform: Processes) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{platform.ports['gateway']}", timeout=30
    ) as http:
        yield http


@pytest_asyncio.fixture(loop_scope="module")
async def shop(platform: Processes, gateway: httpx.AsyncClient) -> Shop:
    """The shop with an admin logged in for this trial: a token of the module's first trial would expire
    before a full run's last (20 trials a fault take longer than an access token lives)."""
    settings = platform.settings()
    admin = await retried(
        lambda: Shop(gateway, settings, {}).login(
            settings.admin_email, settings.admin_password.get_secret_value()
        )
    )
    return Shop(gateway, settings, admin)


# ---------------------------------------------------------------------------------------------- a trial


@dataclass
class Tally:
    """What one trial found; `problems` says what, for the failure message."""

    seed: str
    fault: str
    lost: int = 0
    duplicated: int = 0
    oversold: int = 0
    stuck: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)
    closed: bool = False

    def count(self, kind: str, number: int, what: str) -> None:
        if number:
            setattr(self, kind, getattr(self, kind) + number)
            self.problems.append(f"{kind} {number}: {what}")

    def close(self, fault: str) -> None:
        """Record the trial's figures, then fail it if anything was lost, doubled, oversold or stuck."""
        survived = not self.problems
        self.closed = True
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
    tally = Tally(seed, fault)
    _STARTED.append(tally)
    return random.Random(seed), tally


_STARTED: list[Tally] = []


@pytest.fixture(autouse=True)
def _unfinished_trials_count() -> Iterator[None]:
    """A trial that broke off before its checks closed it (an exception) still counts, as not survived:
    the report must not show 19 trials of 19 survived when 20 ran."""
    yield
    while _STARTED:
        tally = _STARTED.pop()
        if not tally.closed:
            record(f"faults.{tally.fault}", trials=1, survived=0, unfinished=1, seed=SEED)


async def crash(platform: Processes, part: str, rng: random.Random, downtime: tuple[float, float]) -> None:
    """SIGKILL `part` (a server of the private set, or an API or worker process), leave it down a random
    while, start it again."""
    if part in SERVERS:
        await asyncio.to_thread(platform.servers.stop, part)
        await asyncio.sleep(rng.uniform(*downtime))
        await asyncio.to_thread(platform.servers.start, part)
    else:
        await asyncio.to_thread(platform.kill, part)
        await asyncio.sleep(rng.uniform(*downtime))
        await asyncio.to_thread(platform.start, part)


class ServerError(Exception):
    """A 5xx answer: the request may or may not have done its work."""


#: What a part that is down or restarting answers: a client waits and tries again.
DOWN = (
    httpx.HTTPError,
    ServerError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection cut mid-statement by the crash
)


async def retried(call: Callable[[], Awaitable[Any]], seconds: float = RECOVERY) -> Any:
    """`call()` until it stops failing (an HTTP error, a 5xx: the part it needs is down): a client's retry."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await call()
        except (*DOWN, AssertionError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.25)


def answered(response: httpx.Response, *ok: int) -> httpx.Response:
    if response.status_code >= 500:
        raise ServerError(f"{response.status_code} {response.text[:200]}")
    assert response.status_code in ok, f"{response.status_code} {response.text[:300]}"
    return response


async def until(check: Callable[[], Awaitable[bool]], seconds: float = RECOVERY) -> bool:
    """Whether `check()` came true within `seconds` (its failures count as not yet)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(*DOWN):
            if await check():
                return True
        await asyncio.sleep(0.5)
    return False


# ---------------------------------------------------------------------------------------------- workloads


async def place_orders(
    shop: Shop, rng: random.Random, variant_id: str, count: int, accepted: asyncio.Event | None = None
) -> list[str]:
    """`count` one-unit orders at once, card or cash, each retried with its own Idempotency-Key until it
    is answered (an order refused for want of stock has an id too): the ids of the orders placed.
    `accepted` is set once the first is answered.
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
            if accepted is not None:
                accepted.set()
            return str(order_id)

        return str(await retried(post))

    return list(await asyncio.gather(*(one(rng.random() < 0.5) for _ in range(count))))


async def register_users(shop: Shop, platform: Processes, count: int) -> dict[str, str]:
    """`count` customers registering at once, each retried until answered (a 409 after a lost answer: the
    first try went through): their ids by e-mail, read from the auth database."""

    async def one() -> str:
        email = f"f-{uuid.uuid4().hex[:12]}@example.com"
        body = {"name": "Fay Fault", "email": email, "password": "correct horse battery"}
        await retried(lambda: post_once(shop, "/auth/register", body, 201))
        return email

    emails = list(await asyncio.gather(*(one() for _ in range(count))))
    rows = await sql(platform, "auth", "SELECT email, id FROM users WHERE email = ANY($1::text[])", emails)
    return {row["email"]: row["id"] for row in rows}


async def post_once(shop: Shop, path: str, body: dict[str, Any], status: int) -> None:
    """POST a creation; a 409 (already there) counts as done: a retry after a first try whose answer was
    lost (unique keys: e-mails, SKUs)."""
    answered(await shop.http.post(path, json=body, headers=shop.admin), status, 409)


async def sql(platform: Processes, database: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Rows of `query` on a service's database of the private PostgreSQL (retried while it restarts)."""

    async def fetch() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(f"{platform.servers.postgres}/{database}")
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    return list(await retried(fetch))


async def change_products(
    shop: Shop, platform: Processes, rng: random.Random, count: int
) -> dict[str, tuple[str, bool]]:
    """`count` products created, some renamed, some deleted, each change retried until answered: by id, the
    last word of each one's name and whether it is still listed."""
    fates = [rng.random() for _ in range(count)]

    async def one(fate: float) -> tuple[str, tuple[str, bool]]:
        word = "fault" + uuid.uuid4().hex[:10]
        body = {
            "sku": f"SKU-{word.upper()}",
            "name": {"en": f"Lamp {word}", "fr": f"Lampe {word}"},
            "variants": [{"attributes": {"Color": "Blue"}, "price": "12.00", "initialStockQuantity": 5}],
        }
        await retried(lambda: post_once(shop, "/products", body, 201))
        [row] = await sql(platform, "products", "SELECT id FROM product WHERE sku = $1", body["sku"])
        product_id = str(row["id"])
        if fate < 0.25:
            await retried(lambda: admin_call(shop, "DELETE", f"/products/{product_id}", None, 200, 204, 404))
            return product_id, (word, False)
        if fate < 0.75:
            word = "fault" + uuid.uuid4().hex[:10]
            rename = {"name": {"en": f"Lamp {word}", "fr": f"Lampe {word}"}}
            await retried(lambda: admin_call(shop, "PUT", f"/products/{product_id}", rename, 200))
        return product_id, (word, True)

    return dict(await asyncio.gather(*(one(fate) for fate in fates)))


async def admin_call(shop: Shop, method: str, path: str, body: Any, *ok: int) -> httpx.Response:
    return answered(await shop.http.request(method, path, json=body, headers=shop.admin), *ok)


async def fill_carts(shop: Shop, variants: list[str], carts: int) -> dict[str, list[str]]:
    """`carts` guest carts, each given one unit of every variant, one after the other; an update left
    unanswered is checked on the cart before it is sent again (a client that does not double its line):
    the variants each cart must hold, by cart id."""

    async def one() -> tuple[str, list[str]]:

        async def open_cart() -> str:
            return str(answered(await shop.http.post("/carts"), 200, 201).json()["id"])

        cart_id = await retried(open_cart)
        for variant_id in variants:

            async def add(variant_id: str = variant_id) -> None:
                held = answered(await shop.http.get(f"/carts/{cart_id}"), 200, 201).json()["items"]
                if not any(line["variantId"] == variant_id for line in held):
                    line = {"variantId": variant_id, "quantity": 1}
                    answered(await shop.http.post(f"/carts/{cart_id}/items", json=line), 200, 201)

            await retried(add)
        return cart_id, variants

    return dict(await asyncio.gather(*(one() for _ in range(carts))))


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

    expected = {o: rules.EVENTS[OrderStatus(s)] for o, s in final.items() if s in SETTLED}  # stuck: counted

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


async def check_announced(
    platform: Processes,
    tally: Tally,
    topic: str,
    created: str,
    keys: set[str],
    also: frozenset[str] | set[str] = frozenset(),
) -> None:
    """On `topic`: one `created` event (one id) for each of `keys`, and each event about them and `also`
    applied by the orders service's consumer (its `handled_events`: an event id is applied once there)."""

    async def about() -> list[Event]:
        return [e for e in await read_topic(platform, topic) if e.key in keys | also]

    async def applied(ids: set[str]) -> set[str]:
        rows = await sql(
            platform, "orders", "SELECT id FROM handled_events WHERE id = ANY($1::text[])", list(ids)
        )
        return {row["id"] for row in rows}

    async def complete() -> bool:
        events = await about()
        ids = {e.id for e in events}
        return {e.key for e in events if e.type == created} >= keys and await applied(ids) == ids

    await until(complete)
    events = await about()
    ids = {e.id for e in events}
    tally.events += len(ids)
    creations: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.type == created:
            creations[event.key].add(event.id)
    missing = keys - set(creations)
    tally.count("lost", len(missing), f"no {created} on {topic} for {sorted(missing)}")
    twice = {key: ids for key, ids in creations.items() if len(ids) > 1}
    tally.count("duplicated", len(twice), f"{created} published under two ids: {twice}")
    unapplied = ids - await applied(ids)
    tally.count("lost", len(unapplied), f"events on {topic} the orders service never applied: {unapplied}")


async def check_search(shop: Shop, tally: Tally, words: dict[str, tuple[str, bool]]) -> None:
    """The index converges on the catalog: a live product found alone by its name's last word, a deleted
    one by nothing."""

    async def found(word: str) -> list[str]:
        response = answered(await shop.http.get("/search/products", params={"q": word}), 200)
        return [hit["id"] for hit in response.json()["data"]]

    async def wrong() -> dict[str, list[str]]:
        off = {}
        for product_id, (word, live) in words.items():
            if (hits := await found(word)) != ([product_id] if live else []):
                off[product_id] = hits
        return off

    async def converged() -> bool:
        return not await wrong()

    await until(converged)
    off = await retried(wrong)
    tally.count("stuck", len(off), f"products the index never caught up with: {off}")


async def read_cart(shop: Shop, cart_id: str) -> dict[str, Any]:
    body: dict[str, Any] = answered(await shop.http.get(f"/carts/{cart_id}"), 200).json()
    return body


async def check_carts(shop: Shop, tally: Tally, carts: dict[str, list[str]]) -> None:
    """Each cart holds one line of one unit for each of its variants: no line lost, none doubled."""
    for cart_id, variants in carts.items():
        body = await retried(partial(read_cart, shop, cart_id))
        lines = Counter(line["variantId"] for line in body["items"])
        units = {line["variantId"]: line["quantity"] for line in body["items"]}
        tally.count("lost", len(set(variants) - set(lines)), f"cart {cart_id} lost lines")
        doubled = sum(n - 1 for n in lines.values()) + sum(q - 1 for q in units.values() if q > 1)
        tally.count("duplicated", doubled, f"cart {cart_id} doubled lines: {body['items']}")


@dataclass
class Rush:
    """Twice as many one-unit orders as there are units of a new product, placed at once."""

    product_id: str
    variant_id: str
    stock: int
    orders: asyncio.Task[list[str]]
    accepted: asyncio.Event

    @classmethod
    async def start(cls, shop: Shop, rng: random.Random) -> Rush:
        stock = rng.randint(3, 6)
        product_id, variant_id = await retried(lambda: shop.product(stock=stock))
        accepted = asyncio.Event()
        orders = asyncio.create_task(place_orders(shop, rng, variant_id, 2 * stock, accepted))
        return cls(product_id, variant_id, stock, orders, accepted)

    async def check(self, shop: Shop, platform: Processes, tally: Tally) -> None:
        order_ids = await self.orders
        final = await check_orders(shop, platform, tally, order_ids)
        await check_stock(shop, tally, self.product_id, self.variant_id, self.stock, final)


async def saga_trial(
    shop: Shop,
    platform: Processes,
    fault: str,
    trial: int,
    part: str,
    delay: tuple[float, float],
    downtime: tuple[float, float],
    *,
    after_first_answer: bool = False,
) -> None:
    """A rush of orders; `part` crashed after a random `delay` (counted from the first order's answer when
    `after_first_answer`) and started again after a random `downtime`; then every order settles, once,
    with the stock shared out exactly.
    """
    rng, tally = trial_rng(fault, trial)
    rush = await Rush.start(shop, rng)
    if after_first_answer:
        await rush.accepted.wait()
    await asyncio.sleep(rng.uniform(*delay))
    await crash(platform, part, rng, downtime)
    await rush.check(shop, platform, tally)
    tally.close(fault)


# ---------------------------------------------------------------------------------------------- the faults


@pytest.mark.parametrize("trial", TRIAL)
async def test_orders_worker_killed_mid_saga(shop: Shop, platform: Processes, trial: int) -> None:
    await saga_trial(shop, platform, "orders_worker", trial, "worker:orders", (0.05, 1.5), (0, 1.5))


@pytest.mark.parametrize("trial", TRIAL)
async def test_products_killed_during_stock_reservation(shop: Shop, platform: Processes, trial: int) -> None:
    await saga_trial(shop, platform, "products", trial, "products", (0.05, 1.0), (0, 1.5))


@pytest.mark.parametrize("trial", TRIAL)
async def test_orders_service_killed_right_after_accepting_an_order(
    shop: Shop, platform: Processes, trial: int
) -> None:
    await saga_trial(
        shop, platform, "orders_service", trial, "orders", (0, 0.2), (0, 1.5), after_first_answer=True
    )


@pytest.mark.parametrize("trial", TRIAL)
async def test_temporal_restarted_mid_saga(shop: Shop, platform: Processes, trial: int) -> None:
    await saga_trial(shop, platform, "temporal", trial, "temporal", (0.05, 1.5), (0, 2))


@pytest.mark.parametrize("trial", TRIAL)
async def test_kafka_killed_during_registrations(shop: Shop, platform: Processes, trial: int) -> None:
    rng, tally = trial_rng("kafka", trial)
    registering = asyncio.create_task(register_users(shop, platform, rng.randint(4, 8)))
    await asyncio.sleep(rng.uniform(0, 1))
    await crash(platform, "kafka", rng, (0, 3))
    users = await registering
    await check_announced(platform, tally, auth.AUTH_EVENTS, auth.USER_CREATED, set(users.values()))
    tally.close("kafka")


@pytest.mark.parametrize("trial", TRIAL)
async def test_elasticsearch_killed_during_product_changes(
    shop: Shop, platform: Processes, trial: int
) -> None:
    rng, tally = trial_rng("elasticsearch", trial)
    changing = asyncio.create_task(change_products(shop, platform, rng, rng.randint(4, 8)))
    await asyncio.sleep(rng.uniform(0, 1.5))
    await crash(platform, "elasticsearch", rng, (0, 3))
    words = await changing
    await check_search(shop, tally, words)
    live = {product_id for product_id, (_, listed) in words.items() if listed}
    await check_announced(
        platform, tally, products.PRODUCT_EVENTS, products.PRODUCT_CREATED, live, set(words) - live
    )
    tally.close("elasticsearch")


@pytest.mark.parametrize("trial", TRIAL)
async def test_redis_killed_during_cart_updates(shop: Shop, platform: Processes, trial: int) -> None:
    rng, tally = trial_rng("redis", trial)
    variants = [(await retried(lambda: shop.product(stock=50)))[1] for _ in range(rng.randint(3, 5))]
    filling = asyncio.create_task(fill_carts(shop, variants, rng.randint(3, 6)))
    await asyncio.sleep(rng.uniform(0, 1))
    await crash(platform, "redis", rng, (0, 1.5))
    await check_carts(shop, tally, await filling)
    tally.close("redis")


@pytest.mark.parametrize("trial", TRIAL)
async def test_postgres_restarted_under_load(shop: Shop, platform: Processes, trial: int) -> None:
    """Orders, registrations and product changes at once, while the database server crashes."""
    rng, tally = trial_rng("postgres", trial)
    rush = await Rush.start(shop, rng)
    registering = asyncio.create_task(register_users(shop, platform, rng.randint(2, 5)))
    changing = asyncio.create_task(change_products(shop, platform, rng, rng.randint(2, 4)))
    await asyncio.sleep(rng.uniform(0.05, 1.5))
    await crash(platform, "postgres", rng, (0, 2))
    await rush.check(shop, platform, tally)
    users = await registering
    await check_announced(platform, tally, auth.AUTH_EVENTS, auth.USER_CREATED, set(users.values()))
    words = await changing
    await check_search(shop, tally, words)
    tally.close("postgres")
