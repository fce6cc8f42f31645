"""The `commerce` command: run the platform, one service or one worker; migrate databases."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from kit import tracing
from kit.logs import configure_logging
from kit.settings import DATABASE_SERVICES, Settings
from kit.web import serve

REPO = Path(__file__).resolve().parent.parent
INFRA_SCRIPT = REPO / "deploy" / "local" / "infra"
REINDEX_POLL = 1.0  # seconds between two looks at a reindex running
LOCAL_SERVERS = (
    "postgres",
    "redis",
    "kafka",
    "consul",
    "elasticsearch",
)  # Temporal: `commerce dev` starts its own, with the UI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="commerce", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="the whole platform in one process, with a Temporal dev server")
    dev.add_argument(
        "--split",
        action="store_true",
        help="every API, the gateway and every worker as its own child process (commerce serve/worker), "
        "supervised: a child that dies is reported and restarted",
    )
    dev.add_argument("--data-dir", type=Path, help="where SQLite files and Temporal state live (./.commerce)")
    dev.add_argument(
        "--infra",
        choices=["embedded", "local"],
        default="embedded",
        help="local: PostgreSQL, Redis, Kafka, Consul and Elasticsearch from deploy/local/infra, "
        "not the embedded adapters",
    )
    commands.add_parser(
        "infra", help="the real servers on this machine: up | down | status | env | logs"
    ).add_argument("action", nargs=argparse.REMAINDER)
    commands.add_parser(
        "serve", help="one service: auth, products, images, search, carts, orders, stats, reviews or gateway"
    ).add_argument("service")
    commands.add_parser("worker", help="the Temporal worker of one task queue").add_argument("queue")
    commands.add_parser(
        "migrate", help="bring a service's database (or all) to the latest schema"
    ).add_argument("service", nargs="?", default="all")
    bus = commands.add_parser("events", help="the event bus: dead letters").add_subparsers(
        dest="events", required=True
    )
    dlq = bus.add_parser("dlq", help="events parked on <topic>.dlq").add_subparsers(dest="dlq", required=True)
    dlq.add_parser("list", help="what is parked, and why").add_argument("topic", help="a topic, or all")
    replay_dlq = dlq.add_parser("replay", help="republish parked events on their topic")
    replay_dlq.add_argument("topic")
    replay_dlq.add_argument("--id", help="only this event (its id or its dead letter's)")
    seed = commands.add_parser("seed", help="generate demo data").add_subparsers(dest="what", required=True)
    catalog = seed.add_parser("catalog", help="a deterministic demo catalog in the products database")
    catalog.add_argument("--products", type=int, default=1000, help="how many products (default 1000)")
    catalog.add_argument("--seed", type=int, default=1, help="the same seed gives the same catalog")
    search = commands.add_parser("search", help="the search index").add_subparsers(dest="what", required=True)
    search.add_parser("reindex", help="rebuild the index from the catalog and swap it in (searches go on)")
    outbox = commands.add_parser("outbox", help="undelivered outbox rows").add_subparsers(
        dest="action", required=True
    )
    listing = outbox.add_parser("list", help="undelivered rows of one service's outbox, or of all")
    listing.add_argument("service", nargs="?", default="all")
    listing.add_argument("--parked", action="store_true", help="only rows out of attempts")
    replay = outbox.add_parser("replay", help="give parked rows a fresh set of attempts")
    replay.add_argument("service")
    replayed = replay.add_mutually_exclusive_group(required=True)
    replayed.add_argument("id", nargs="?", help="the row's id (an event id or a workflow id)")
    replayed.add_argument("--all", action="store_true", help="every parked row of the service")
    statistics = commands.add_parser("stats", help="the statistics read model").add_subparsers(
        dest="what", required=True
    )
    statistics.add_parser(
        "rebuild", help="empty the statistics and count both topics again from their beginning"
    )
    orders = commands.add_parser("orders", help="orders, as operators see them").add_subparsers(
        dest="action", required=True
    )
    orders.add_parser(
        "explain", help="the story of an order: its saga's steps, retries, compensations, signals"
    ).add_argument("order_id")
    args = parser.parse_args(argv)

    if args.command == "dev":
        if args.data_dir:
            os.environ["COMMERCE_DATA_DIR"] = str(args.data_dir)
        os.environ.setdefault("COMMERCE_LOG_FORMAT", "console")
        os.environ.setdefault("COMMERCE_DEMO_CATALOG", "60")  # the products service's first start
        if args.infra == "local":
            os.environ.update(local_infra_settings())
        run_dev(Settings(), split=args.split)
    elif args.command == "infra":
        os.execv(INFRA_SCRIPT, [str(INFRA_SCRIPT), *args.action])
    elif args.command == "serve":
        serve_service(args.service)
    elif args.command == "worker":
        settings = Settings()
        configure_logging(settings.log_level, settings.log_format)
        tracing.setup_tracing(f"worker-{args.queue}", settings)
        _run(worker_until_stopped(settings, args.queue))
    elif args.command == "migrate":
        _run(migrate(Settings(), args.service))
    elif args.command == "events":
        _run(dead_letters(Settings(), args))
    elif args.command == "seed":
        _run(seed_catalog(Settings(), products=args.products, seed=args.seed))
    elif args.command == "search":
        _run(reindex_search(Settings()))
    elif args.command == "outbox" and args.action == "list":
        _run(list_outbox(Settings(), args.service, parked=args.parked))
    elif args.command == "outbox":
        _run(replay_outbox(Settings(), args.service, None if args.all else args.id))
    elif args.command == "orders":
        _run(explain_order(Settings(), args.order_id))
    elif args.command == "stats":
        _run(rebuild_stats(Settings()))


def local_infra_settings() -> dict[str, str]:
    """Start the real servers (if they do not answer yet) and point every port's URL at them."""
    subprocess.run([INFRA_SCRIPT, "up", *LOCAL_SERVERS], check=True)
    printed = subprocess.run([INFRA_SCRIPT, "env"], check=True, capture_output=True, text=True).stdout
    urls = dict(
        line.removeprefix("export ").split("=", 1)
        for line in printed.splitlines()
        if line.startswith("export ")
    )
    return infra_settings(urls)


def infra_settings(urls: Mapping[str, str], database: str = "{service}") -> dict[str, str]:
    """The COMMERCE_* variables of a platform on the servers that `deploy/local/infra env` prints
    (COMMERCE_TEST_POSTGRES_URL, ...): each service's database named `database` ({service} filled in).
    """
    postgres = urls["COMMERCE_TEST_POSTGRES_URL"].replace("postgresql://", "postgresql+asyncpg://", 1)
    return {
        "COMMERCE_DATABASE_URL": f"{postgres}/{database}",
        "COMMERCE_BUS_URL": urls["COMMERCE_TEST_KAFKA_URL"],
        "COMMERCE_CACHE_URL": urls["COMMERCE_TEST_REDIS_URL"],
        "COMMERCE_SEARCH_URL": urls["COMMERCE_TEST_ELASTIC_URL"],
        "COMMERCE_DISCOVERY_URL": urls["COMMERCE_TEST_CONSUL_URL"] + "?interval=2s&timeout=2s&deregister=1m",
    }


def run_dev(settings: Settings, *, split: bool = False) -> None:
    from commerce.platform import run_platform
    from commerce.split import run_split_platform

    configure_logging(settings.log_level, settings.log_format)
    if not split:  # one process, one tracer provider; split, each child sets up its own
        tracing.setup_tracing("commerce", settings)

    def banner(started_temporal: bool) -> None:
        gateway = f"http://{settings.host}:{settings.port_of('gateway')}"
        temporal_host = settings.temporal_address.rpartition(":")[0] or "127.0.0.1"
        ui = f"http://{temporal_host}:{settings.temporal_ui_port}"
        processes = "    Processes     one per API and worker (commerce serve/worker)\n" if split else ""
        print(
            "\n"
            "  Commerce platform is up\n"
            f"    Gateway       {gateway}\n"
            f"    API docs      {gateway}/docs\n"
            f"    Temporal UI   {ui}{'' if started_temporal else '  (a Temporal server already running)'}\n"
            f"    Admin login   {settings.admin_email} / {settings.admin_password.get_secret_value()}"
            "  (development only)\n"
            f"    Data          {settings.data_dir.resolve()}\n"
            f"{processes}"
            "  Press Ctrl-C to stop.\n",
            flush=True,
        )

    _run((run_split_platform if split else run_platform)(settings, on_ready=banner))


async def worker_until_stopped(settings: Settings, queue: str) -> None:
    """`commerce worker <queue>` until SIGINT/SIGTERM, then a graceful shutdown of the worker."""
    from commerce.platform import run_worker

    running = asyncio.create_task(run_worker(settings, queue))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, running.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await running


def serve_service(name: str) -> None:
    """Run one service (or the gateway) on its port until SIGINT/SIGTERM."""
    from commerce.platform import app_factory

    serve(name, app_factory(name))


async def migrate(settings: Settings, service: str) -> None:
    from commerce.platform import APPS
    from kit import db

    names = DATABASE_SERVICES if service == "all" else (service,)
    for name in names:
        if name not in DATABASE_SERVICES:
            raise SystemExit(f"{name!r} has no database; those that do: {', '.join(DATABASE_SERVICES)}")
        engine = db.open_engine(settings.for_service(name).service_database_url)
        try:
            await db.migrate(engine, REPO / APPS[name].replace(".", "/").removesuffix("/app") / "migrations")
        finally:
            await engine.dispose()
        print(f"{name}: migrated")


async def seed_catalog(settings: Settings, *, products: int, seed: int) -> None:
    from apis.products import demo
    from apis.products.app import MIGRATIONS

    report = await demo.seed_catalog(settings, MIGRATIONS, products=products, seed=seed)
    print(
        f"catalog (seed {seed}): {report.products_created} products created, {report.products_present} "
        f"already there, {report.categories_created} categories created, in {report.seconds}s"
    )


async def reindex_search(settings: Settings) -> None:
    """Have the running search service rebuild its index (service credentials), and follow it to its end."""
    from contracts import search
    from kit.auth.services import service_tokens
    from kit.infra import open_infra

    async with open_infra(settings.for_service("cli")) as infra:
        client = search.SearchClient(infra.client(search.SERVICE, token=service_tokens(infra, "cli")))
        state = await client.reindex()
        print(f"search: reindex {state['status']} since {state['startedAt']}")
        while state["status"] == search.REINDEX_RUNNING:
            await asyncio.sleep(REINDEX_POLL)
            state = await client.reindex_state()
    if state["status"] != search.REINDEX_FINISHED:
        raise SystemExit(f"search: reindex {state['status']}: {state.get('error')}")
    print(f"search: {state['indexed']} products indexed and swapped in")


async def list_outbox(settings: Settings, service: str, *, parked: bool) -> None:
    """Print undelivered outbox rows, oldest first; a parked row holds back its key until replayed."""
    from kit import db, outbox

    cap = settings.outbox_max_attempts
    for name in DATABASE_SERVICES if service == "all" else (service,):
        engine = db.open_engine(_outbox_database(settings, name))
        try:
            rows = await outbox.pending_messages(engine, max_attempts=cap, parked=parked)
        finally:
            await engine.dispose()
        for row in rows:
            state = "parked" if outbox.is_parked(row, cap) else "pending"
            error = f"  {row.last_error}" if row.last_error else ""
            print(f"{name}  {row.id}  {state}  {row.kind}  key={row.key}  attempts={row.attempts}{error}")


async def replay_outbox(settings: Settings, service: str, message_id: str | None) -> None:
    """Make parked rows (one, or all with no id) deliverable again; the running relay sends them."""
    from kit import db, outbox

    engine = db.open_engine(_outbox_database(settings, service))
    try:
        count = await outbox.replay_parked(
            engine, max_attempts=settings.outbox_max_attempts, message_id=message_id
        )
    finally:
        await engine.dispose()
    if message_id and not count:
        raise SystemExit(f"{service}: no parked outbox row {message_id!r}")
    print(f"{service}: {count} parked outbox row(s) replayed")


def _outbox_database(settings: Settings, service: str) -> str:
    if service not in DATABASE_SERVICES:
        raise SystemExit(f"{service!r} has no outbox; those that do: {', '.join(DATABASE_SERVICES)}")
    return settings.for_service(service).service_database_url


async def explain_order(settings: Settings, order_id: str) -> None:
    """Print the order's timeline (`GET /orders/{id}/timeline`), read from its database and Temporal."""
    from apis.orders import reads
    from apis.orders.models import Order
    from kit import db
    from kit.temporal import TemporalConnection

    engine = db.open_engine(settings.for_service("orders").service_database_url)
    try:
        async with db.session_factory(engine)() as session:
            order = await session.get(Order, order_id)
            if order is None:
                raise SystemExit(f"orders: no order {order_id!r}")
            told = await reads.order_timeline(session, TemporalConnection(settings), order)
    finally:
        await engine.dispose()
    print(f"Order {told.order_id}: {told.status} (workflow {told.workflow_id})")
    for entry in told.entries:
        facts = [f"attempt {entry.attempt}"] if entry.attempt and entry.attempt > 1 else []
        facts += [_took(entry.duration_ms)] if entry.duration_ms is not None else []
        more = f"  ({', '.join(facts)})" if facts else ""
        when = entry.at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        print(f"  {when}  {entry.kind:<12} {entry.text}{more}")


def _took(ms: int) -> str:
    """A duration for a person: 12 ms, 4.1 s, 3 min, 30 days."""
    if ms < 1000:
        return f"{ms} ms"
    for unit, size in (("days", 86_400_000), ("h", 3_600_000), ("min", 60_000)):
        if ms >= 2 * size:
            return f"{ms // size} {unit}"
    return f"{ms / 1000:.1f} s"


async def rebuild_stats(settings: Settings) -> None:
    """Rebuild the statistics from the bus and into their database directly (as `POST
    /stats/admin/rebuild` does in the service): the live consumer of a running service waits meanwhile.
    """
    from apis.stats import rebuild
    from apis.stats.app import MIGRATIONS
    from kit import db
    from kit.bus import open_bus

    if settings.bus_url.startswith("memory:"):
        raise SystemExit("stats: memory:// lives inside each process; rebuild with POST /stats/admin/rebuild")
    engine = db.open_engine(settings.for_service("stats").service_database_url)
    try:
        await db.migrate(engine, MIGRATIONS)
        async with open_bus(settings.bus_url, client_id="commerce-cli") as bus:
            rebuilt = await rebuild.rebuild(db.session_factory(engine), bus)
    finally:
        await engine.dispose()
    print(
        f"stats: {rebuilt.events} events read, {rebuilt.applied} counted: "
        f"{rebuilt.customers} customers, {rebuilt.orders} orders"
    )


async def dead_letters(settings: Settings, args: argparse.Namespace) -> None:
    from kit.bus import dlq

    if args.dlq == "list":
        lines = await dlq.list_parked(settings.bus_url, args.topic)
    else:
        lines = await dlq.replay(settings.bus_url, args.topic, event_id=args.id)
    print("\n".join(lines))


def _run(coroutine: object) -> None:
    try:
        asyncio.run(coroutine)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
