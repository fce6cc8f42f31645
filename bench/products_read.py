"""Read latency of the products service at two catalog sizes: listing and single-product reads.

    python3 -m uv run python bench/products_read.py [--sizes 1000 100000] [--requests 500]

For each size, a demo catalog (`commerce seed catalog`, seed 1) is generated once under `bench/.data/<size>/`
and reused; the service then runs as users run it (`commerce serve products`, its own process, uvicorn,
embedded SQLite) and is called over real HTTP, one request at a time, after a warm-up. Reported: median and
p99 per scenario and size, and the ratio of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent
COMMERCE = str(Path(sys.executable).parent / "commerce")

SCENARIOS: dict[str, Callable[[random.Random, list[str]], str]] = {
    "list: first page, limit 12 (the seed's window shopper)": lambda rng, ids: "/?page=1&limit=12",
    "list: a random page (1-20) of 50": lambda rng, ids: f"/?page={rng.randint(1, 20)}&limit=50",
    "list: category + in stock, by price": lambda rng, ids: (
        "/?categorySlug=smartphones&inStock=true&sortBy=price&sortOrder=asc&limit=12"
    ),
    "list: text search q=sac (French names)": lambda rng, ids: "/?q=sac&limit=12",
    "read: GET /id/{id}": lambda rng, ids: f"/id/{rng.choice(ids)}",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(data_dir: Path, port: int) -> dict[str, str]:
    return os.environ | {
        "COMMERCE_DATA_DIR": str(data_dir),
        "COMMERCE_PORTS": json.dumps({"products": port}),
        "COMMERCE_TEMPORAL_ADDRESS": "127.0.0.1:1",  # nothing to announce: reads only
        "COMMERCE_OUTBOX_POLL_INTERVAL": "3600",
        "COMMERCE_LOG_LEVEL": "WARNING",
        "COMMERCE_DEMO_CATALOG": "0",
    }


def ensure_catalog(size: int, data_dir: Path) -> None:
    database = data_dir / "products.db"
    if database.exists():
        with sqlite3.connect(database) as connection:
            (count,) = connection.execute("SELECT count(*) FROM product").fetchone()
        if count >= size:
            return
    started = time.perf_counter()
    subprocess.run(
        [COMMERCE, "seed", "catalog", "--products", str(size), "--seed", "1"],
        env=environment(data_dir, free_port()),
        check=True,
    )
    sys.stdout.write(f"  generated {size} products in {time.perf_counter() - started:.1f}s\n")


def sample_ids(data_dir: Path, count: int, rng: random.Random) -> list[str]:
    with sqlite3.connect(data_dir / "products.db") as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM product WHERE is_active")]
    return rng.sample(ids, min(count, len(ids)))


async def measure(base: str, requests: int, ids: list[str], seed: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=base, headers={"Accept-Language": "fr-FR"}, timeout=30) as client:
        for name, path_of in SCENARIOS.items():
            rng = random.Random(seed)
            for _ in range(20):  # warm-up: connection, SQLite page cache
                (await client.get(path_of(rng, ids))).raise_for_status()
            samples = []
            for _ in range(requests):
                path = path_of(rng, ids)
                started = time.perf_counter()
                response = await client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            timings[name] = samples
    return timings


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    with (data_dir / "service.log").open("ab") as log:
        process = subprocess.Popen(
            [COMMERCE, "serve", "products"], env=environment(data_dir, port), stdout=log, stderr=log
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the products service did not start")


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--requests", type=int, default=500, help="timed requests per scenario and size")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    args = parser.parse_args()
    results: dict[int, dict[str, list[float]]] = {}
    for size in args.sizes:
        data_dir = args.data_dir / str(size)
        sys.stdout.write(f"catalog of {size} products\n")
        ensure_catalog(size, data_dir)
        ids = sample_ids(data_dir, 1000, random.Random(size))
        port = free_port()
        process = serve(data_dir, port)
        try:
            results[size] = asyncio.run(measure(f"http://127.0.0.1:{port}", args.requests, ids, seed=size))
        finally:
            process.terminate()
            process.wait(30)
    report(results)


def report(results: dict[int, dict[str, list[float]]]) -> None:
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    header = f"{'scenario':<56}" + "".join(f"{f'{s} median':>14}{f'{s} p99':>12}" for s in sizes)
    lines = [header + f"{'ratio median':>14}{'ratio p99':>11}", "-" * (len(header) + 25)]
    for name in results[small]:
        row = f"{name:<56}"
        for size in sizes:
            row += f"{statistics.median(results[size][name]):>12.2f}ms{p99(results[size][name]):>10.2f}ms"
        median_ratio = statistics.median(results[large][name]) / statistics.median(results[small][name])
        p99_ratio = p99(results[large][name]) / p99(results[small][name])
        lines.append(row + f"{median_ratio:>13.2f}x{p99_ratio:>10.2f}x")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
