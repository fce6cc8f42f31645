"""Read latency of the products service at two catalog sizes, on SQLite and on PostgreSQL side by side:
every hot query of the listing, and single-product reads.

    eval "$(deploy/local/infra env)"   # COMMERCE_TEST_POSTGRES_URL: the real server
    python3 -m uv run python bench/products_read.py [--sizes 1000 100000] [--requests 200]
        [--databases sqlite postgres] [--plans]

For each size, a demo catalog (`commerce seed catalog`, seed 1) is generated once, under `bench/.data/<size>/`
(SQLite) and in the database `bench_catalog_<size>` of the PostgreSQL server, and reused; the service then
runs as users run it (`commerce serve products`, its own process, uvicorn) and is called over real HTTP, one
request at a time, after a warm-up. Reported: median and p99 per scenario, size and database, and the ratio
of the largest size to the smallest. `--plans` prints instead the query plan of the listing's count and page
queries of each scenario on the largest catalog (EXPLAIN QUERY PLAN; EXPLAIN ANALYZE on PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import sqlalchemy as sa

from apis.products import listing
from apis.products.schemas.products import ProductQuery
from bench import stats
from kit import db

ROOT = Path(__file__).resolve().parent
COMMERCE = str(Path(sys.executable).parent / "commerce")
HOT = "&limit=12"
CATEGORY_IN_STOCK = "/?categorySlug=electronique&inStock=true&sortBy=price&sortOrder=asc" + HOT
PRICED_IN_STOCK = "/?minPrice=50&maxPrice=150&inStock=true" + HOT

# The deep pages are the last pages of the 1k catalog: the same offsets are read at every size.
SCENARIOS: dict[str, Callable[[random.Random, list[str]], str]] = {
    "newest, first page": lambda rng, ids: "/?page=1" + HOT,
    "newest, deep page 80": lambda rng, ids: "/?page=80" + HOT,
    "newest, page 80 by cursor (keyset)": lambda rng, ids: "/?cursor={after /?page=79" + HOT + "}" + HOT,
    "a random page (1-20) of 50": lambda rng, ids: f"/?page={rng.randint(1, 20)}&limit=50",
    "category+children, newest": lambda rng, ids: "/?categorySlug=electronique" + HOT,
    "category+children, in stock, by price": lambda rng, ids: CATEGORY_IN_STOCK,
    "category+children, in stock, by price, page 13": lambda rng, ids: CATEGORY_IN_STOCK + "&page=13",
    "category+children, in stock, by price, page 13 by cursor": lambda rng, ids: (
        "/?cursor={after " + CATEGORY_IN_STOCK + "&page=12}" + CATEGORY_IN_STOCK.removeprefix("/?")
    ),
    "in stock, by price desc": lambda rng, ids: "/?inStock=true&sortBy=price&sortOrder=desc" + HOT,
    "price 50-150, by price": lambda rng, ids: "/?minPrice=50&maxPrice=150&sortBy=price&sortOrder=asc" + HOT,
    "price 50-150, in stock, newest": lambda rng, ids: PRICED_IN_STOCK,
    "price 50-150, in stock, newest, page 21": lambda rng, ids: PRICED_IN_STOCK + "&page=21",
    "text q=sac (not a goal: /search/products)": lambda rng, ids: "/?q=sac" + HOT,
    "read: GET /id/{id}": lambda rng, ids: f"/id/{rng.choice(ids)}",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database_url(database: str, size: int, data_dir: Path) -> str:
    if database == "sqlite":
        return f"sqlite+aiosqlite:///{data_dir / 'products.db'}"
    server = os.environ.get("COMMERCE_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit('PostgreSQL: set COMMERCE_TEST_POSTGRES_URL (eval "$(deploy/local/infra env)")')
    return server.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/bench_catalog_{size}"


def environment(url: str, data_dir: Path, port: int) -> dict[str, str]:
    return os.environ | {
        "COMMERCE_DATA_DIR": str(data_dir),
        "COMMERCE_DATABASE_URL": url,
        "COMMERCE_PORTS": json.dumps({"products": port}),
        "COMMERCE_TEMPORAL_ADDRESS": "127.0.0.1:1",  # nothing to announce: reads only
        "COMMERCE_OUTBOX_POLL_INTERVAL": "3600",
        "COMMERCE_LOG_LEVEL": "WARNING",
        "COMMERCE_DEMO_CATALOG": "0",
    }


async def _count_products(url: str) -> int:
    if url.startswith("postgresql"):
        server, _, name = url.rpartition("/")
        admin = db.open_engine(server + "/postgres")
        try:
            async with admin.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                found = await connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                )
                if not found:
                    await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
                    return 0
        finally:
            await admin.dispose()
    engine = db.open_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(sa.text("SELECT count(*) FROM product")) or 0)
    except sa.exc.DBAPIError:
        return 0  # no tables yet
    finally:
        await engine.dispose()


def ensure_catalog(url: str, size: int, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    if asyncio.run(_count_products(url)) >= size:
        return
    started = time.perf_counter()
    subprocess.run(
        [COMMERCE, "seed", "catalog", "--products", str(size), "--seed", "1"],
        env=environment(url, data_dir, free_port()),
        check=True,
    )
    sys.stdout.write(f"  generated {size} products in {time.perf_counter() - started:.1f}s\n")


async def sample_ids(url: str, count: int, rng: random.Random) -> list[str]:
    engine = db.open_engine(url)
    try:
        async with engine.connect() as connection:
            ids = list((await connection.scalars(sa.text("SELECT id FROM product WHERE is_active"))).all())
    finally:
        await engine.dispose()
    return rng.sample(ids, min(count, len(ids)))


async def with_cursor(path: str, next_cursor: Callable[[str], Awaitable[str]]) -> str:
    """`/?cursor={after <path>}&...`: the cursor is the nextCursor of the page at <path>."""
    if "{after " not in path:
        return path
    before, _, rest = path.partition("{after ")
    source, _, after = rest.partition("}")
    return f"{before}{await next_cursor(source)}&{after.lstrip('&')}"


async def interleaved(
    bases: dict[int, str], requests: int, ids: dict[int, list[str]]
) -> dict[int, dict[str, list[float]]]:
    """Each scenario on every size in turn, request by request: the machine's noise falls on all alike."""
    timings: dict[int, dict[str, list[float]]] = {size: {} for size in bases}
    headers = {"Accept-Language": "fr-FR"}
    clients = {size: httpx.AsyncClient(base_url=b, headers=headers, timeout=60) for size, b in bases.items()}
    try:
        for name, path_of in SCENARIOS.items():
            timed: dict[int, list[str]] = {}
            for size, client in clients.items():

                async def next_cursor(path: str, client: httpx.AsyncClient = client) -> str:
                    cursor: str | None = (await client.get(path)).raise_for_status().json()["nextCursor"]
                    if cursor is None:  # a catalog too small for that page: not measured
                        raise KeyError("nextCursor")
                    return cursor

                rng = random.Random(size)
                try:
                    paths = [
                        await with_cursor(path_of(rng, ids[size]), next_cursor) for _ in range(requests + 10)
                    ]
                except KeyError:  # a version of the service without cursors, or no such page: not measured
                    break
                for path in paths[:10]:  # warm-up: connection, page cache
                    (await client.get(path)).raise_for_status()
                timings[size][name], timed[size] = [], paths[10:]
            for n in range(requests if len(timed) == len(clients) else 0):
                for size, client in clients.items():
                    path = timed[size][n]
                    started = time.perf_counter()
                    response = await client.get(path)
                    timings[size][name].append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
    finally:
        for client in clients.values():
            await client.aclose()
    return timings


def start(
    name: str, env: dict[str, str], port: int, log: Path, seconds: float = 300
) -> subprocess.Popen[bytes]:
    """`commerce serve <name>` in its own process, once its /health answers (a first start of products may
    migrate and backfill a large catalog).
    """
    with log.open("ab") as out:
        process = subprocess.Popen([COMMERCE, "serve", name], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"{name} did not start (log: {log})")


def serve(url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return start("products", environment(url, data_dir, port), port, data_dir / "service.log")


async def vacuum(url: str) -> None:
    """PostgreSQL: what autovacuum does soon after a bulk load or a migration's backfill (fresh statistics,
    the visibility map that index-only scans rely on).
    """
    if not url.startswith("postgresql"):
        return
    engine = db.open_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(sa.text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


async def plans(url: str) -> str:
    """The plans of the statements the listing runs for each list scenario (the count, the page's ids)."""
    engine = db.open_engine(url)
    postgres = engine.dialect.name == "postgresql"
    captured: list[tuple[str, Any]] = []

    @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not statement.startswith("EXPLAIN"):
            captured.append((statement, parameters))

    out: list[str] = []
    try:
        async with db.session_factory(engine)() as session:

            async def next_cursor(path: str) -> str:
                query = ProductQuery.model_validate(dict(parse_qsl(urlsplit(path).query)))
                return (await listing.list_products(session, query, "fr", staff=False)).next_cursor or ""

            for name, path_of in SCENARIOS.items():
                path = await with_cursor(path_of(random.Random(0), [""]), next_cursor)
                if not path.startswith("/?"):
                    continue
                captured.clear()
                query = ProductQuery.model_validate(dict(parse_qsl(urlsplit(path).query)))
                await listing.list_products(session, query, "fr", staff=False)
                out.append(f"\n### {name}: GET {path}")
                counted = [c for c in captured if c[0].startswith("SELECT count(*)")]
                for statement, parameters in counted[:1] + [c for c in captured if "ORDER BY" in c[0]][:1]:
                    explain = "EXPLAIN (ANALYZE, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
                    rows = await _explain(session, explain + statement, parameters, postgres)
                    out.append(" ".join(statement.split()))
                    out.extend(f"    {row}" for row in rows)
    finally:
        await engine.dispose()
    return "\n".join(out)


async def _explain(session: Any, statement: str, parameters: Any, postgres: bool) -> list[str]:
    result = await (await session.connection()).exec_driver_sql(statement, parameters)
    if postgres:
        return [row[0] for row in result]
    depths: dict[int, int] = {}
    lines = []
    for node, parent, _, detail in result:  # SQLite: (id, parent, notused, detail), parents first
        depths[node] = depths.get(parent, -1) + 1
        lines.append("  " * depths[node] + detail)
    return lines


def measure(
    sizes: Sequence[int] = (1000, 100_000),
    databases: Sequence[str] = ("sqlite", "postgres"),
    requests: int = 200,
    data_root: Path = ROOT / ".data",
    progress: stats.Progress = stats.quiet,
) -> dict[str, Any]:
    """Per database, each size's catalog (generated if need be) served, then every scenario's figures per
    size, interleaved, and the largest size against the smallest.
    """
    results: dict[str, Any] = {"requests": requests, "databases": {}}
    for database in databases:
        bases, ids, processes = {}, {}, []
        try:
            for size in sizes:
                progress(f"a catalog of {size} products on {database}")
                data_dir = data_root / str(size)
                url = database_url(database, size, data_dir)
                ensure_catalog(url, size, data_dir)
                port = free_port()
                processes.append(serve(url, data_dir, port))  # migrates the catalog first, if need be
                asyncio.run(vacuum(url))
                bases[size] = f"http://127.0.0.1:{port}"
                ids[size] = asyncio.run(sample_ids(url, 1000, random.Random(size)))
            progress(f"{len(SCENARIOS)} reads x {requests} on {database}, sizes {list(sizes)} in turn")
            timings = asyncio.run(interleaved(bases, requests, ids))
        finally:
            for process in processes:
                process.terminate()
                process.wait(30)
        by_size = {
            str(size): {name: stats.latency(samples) for name, samples in found.items() if samples}
            for size, found in timings.items()
        }
        small, large = by_size[str(min(sizes))], by_size[str(max(sizes))]
        results["databases"][database] = {
            "sizes": by_size,
            "ratios": {
                f"{max(sizes)} / {min(sizes)}": {
                    name: stats.ratio(large[name], small[name], "median_ms", "p99_ms")
                    for name in small
                    if name in large
                }
            },
        }
    return results


def report(results: dict[str, Any]) -> str:
    lines = []
    for database, figures in results["databases"].items():
        sizes = list(figures["sizes"])
        (ratios,) = figures["ratios"].values()
        header = f"{database:<58}" + "".join(f"{f'{s} median':>14}{f'{s} p99':>12}" for s in sizes)
        lines += ["", header + f"{'ratio median':>14}{'ratio p99':>11}", "-" * (len(header) + 25)]
        for name, ratio in ratios.items():
            row = f"{name:<58}"
            for size in sizes:
                found = figures["sizes"][size][name]
                row += f"{found['median_ms']:>12.2f}ms{found['p99_ms']:>10.2f}ms"
            lines.append(row + f"{ratio['median_ms']:>13.2f}x{ratio['p99_ms']:>10.2f}x")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="timed requests per scenario, size, database"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    parser.add_argument("--plans", action="store_true", help="print the query plans on the largest catalog")
    args = parser.parse_args()
    if not args.plans:
        sys.stdout.write(report(measure(args.sizes, args.databases, args.requests, args.data_dir)))
        return
    size = max(args.sizes)
    for database in args.databases:
        data_dir = args.data_dir / str(size)
        url = database_url(database, size, data_dir)
        ensure_catalog(url, size, data_dir)
        process = serve(url, data_dir, free_port())  # migrates the catalog first, if need be
        try:
            asyncio.run(vacuum(url))
            sys.stdout.write(f"\n## query plans, {database}, {size} products\n{asyncio.run(plans(url))}\n")
        finally:
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
