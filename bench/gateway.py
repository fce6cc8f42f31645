"""What the gateway adds to a product read: the same `GET /id/{id}` direct and through the gateway, at
at each concurrency level (1 and 32 by default), in one run.

    python3 -m uv run python -m bench.gateway [--requests 2000] [--size 1000] [--levels 1 32]

The products service runs as users run it (`commerce serve products`, its own process, uvicorn, embedded
SQLite, a demo catalog generated once under `bench/.data/<size>/`), and so does the gateway (`commerce serve
gateway`, discovery pinned to that service, rate limits on but too high to refuse: their cost is measured).
Each concurrency level alternates direct and gateway rounds after a warm-up. Reported: median and p99 of
each, their ratios (goal: 1.2x or better) and the median added in milliseconds (goal: under 1 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench import stats
from bench.products_read import (
    ROOT,
    database_url,
    ensure_catalog,
    environment,
    free_port,
    sample_ids,
    start,
)

LEVELS = (1, 32)
ROUNDS = 4  # direct and gateway alternate, so a noisy moment of the machine falls on both


async def timed(base: str, paths: list[str], concurrency: int) -> list[float]:
    """Latencies (ms) of `paths`, `concurrency` requests in flight at a time, one client connection each."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    samples: list[float] = []
    queue = list(reversed(paths))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while queue:
                path = queue.pop()
                started = time.perf_counter()
                response = await client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


def cpu_ms(pid: int) -> float:
    """CPU time (user and system) process `pid` has used, in ms (Linux): steadier than latency on a busy
    machine, where waiting for a core inflates every latency.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


async def rounds(
    direct: str, gateway: str, ids: list[str], requests: int, pids: dict[str, int], levels: Sequence[int]
) -> dict[str, dict[str, Any]]:
    """Figures per level (as text) of `direct` and `gateway`, their ratios, and the CPU ms per gateway
    request each process of `pids` spent.
    """
    rng = random.Random(7)
    results: dict[str, dict[str, Any]] = {}
    for concurrency in levels:
        runs: dict[str, list[float]] = {"direct": [], "gateway": []}
        warm = min(200, requests)
        await timed(direct, [f"/id/{rng.choice(ids)}" for _ in range(warm)], concurrency)  # warm-up
        await timed(gateway, [f"/products/id/{rng.choice(ids)}" for _ in range(warm)], concurrency)
        cpu = dict.fromkeys(pids, 0.0)
        for _ in range(ROUNDS):
            chosen = [rng.choice(ids) for _ in range(requests // ROUNDS)]
            runs["direct"] += await timed(direct, [f"/id/{i}" for i in chosen], concurrency)
            before = {name: cpu_ms(pid) for name, pid in pids.items()}
            runs["gateway"] += await timed(gateway, [f"/products/id/{i}" for i in chosen], concurrency)
            for name, pid in pids.items():
                cpu[name] += cpu_ms(pid) - before[name]
        figures: dict[str, Any] = {path: stats.latency(samples) for path, samples in runs.items()}
        figures["ratio"] = stats.ratio(figures["gateway"], figures["direct"], "median_ms", "p99_ms")
        figures["added_median_ms"] = figures["gateway"]["median_ms"] - figures["direct"]["median_ms"]
        figures["cpu_ms_per_request"] = {name: spent / len(runs["gateway"]) for name, spent in cpu.items()}
        results[str(concurrency)] = figures
    return results


def report(results: dict[str, Any]) -> str:
    header = (
        f"{'concurrency':<12}{'direct median':>15}{'gateway median':>16}{'ratio':>8}{'added':>10}"
        f"{'direct p99':>12}{'gateway p99':>13}{'ratio':>8}"
    )
    lines = [header, "-" * len(header)]
    for concurrency, level in results["levels"].items():
        direct, gateway, ratio = level["direct"], level["gateway"], level["ratio"]
        lines.append(
            f"{concurrency:<12}{direct['median_ms']:>13.2f}ms{gateway['median_ms']:>14.2f}ms"
            f"{ratio['median_ms']:>7.2f}x{level['added_median_ms']:>8.2f}ms"
            f"{direct['p99_ms']:>10.2f}ms{gateway['p99_ms']:>11.2f}ms{ratio['p99_ms']:>7.2f}x"
        )
    for concurrency, level in results["levels"].items():
        gateway_cpu, products_cpu = (level["cpu_ms_per_request"][n] for n in ("gateway", "products"))
        lines.append(
            f"CPU per request through the gateway, concurrency {concurrency}: gateway {gateway_cpu:.2f} ms, "
            f"products {products_cpu:.2f} ms ({(gateway_cpu + products_cpu) / products_cpu:.2f}x the work)"
        )
    return "\n".join(lines) + "\n"


def measure(
    requests: int = 2000,
    size: int = 1000,
    levels: Sequence[int] = LEVELS,
    data_root: Path = ROOT / ".data",
    progress: stats.Progress = stats.quiet,
) -> dict[str, Any]:
    """The products service and the gateway started on a catalog of `size`, then `rounds` at each level."""
    data_dir = data_root / str(size)
    url = database_url("sqlite", size, data_dir)
    progress(f"a catalog of {size} products")
    ensure_catalog(url, size, data_dir)
    ids = asyncio.run(sample_ids(url, 1000, random.Random(size)))
    products_port, gateway_port = free_port(), free_port()
    env = environment(url, data_dir, products_port) | {
        "COMMERCE_PORTS": json.dumps({"products": products_port, "gateway": gateway_port}),
        "COMMERCE_DISCOVERY_URL": f"static://?products=http://127.0.0.1:{products_port}",
        "COMMERCE_RATE_LIMIT": json.dumps({"per_second": 1e9, "burst": 1_000_000_000}),
    }
    progress("starting the products service and the gateway")
    products = start("products", env, products_port, data_dir / "service.log")
    try:
        gateway = start("gateway", env, gateway_port, data_dir / "gateway.log")
        try:
            progress(f"{requests} reads direct and through the gateway at each concurrency {list(levels)}")
            found = asyncio.run(
                rounds(
                    f"http://127.0.0.1:{products_port}",
                    f"http://127.0.0.1:{gateway_port}",
                    ids,
                    requests,
                    {"gateway": gateway.pid, "products": products.pid},
                    levels,
                )
            )
        finally:
            gateway.terminate()
            gateway.wait(30)
    finally:
        products.terminate()
        products.wait(30)
    return {"size": size, "requests": requests, "levels": found}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per level and path")
    parser.add_argument("--size", type=int, default=1000, help="products in the catalog")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS), help="concurrencies")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    args = parser.parse_args()
    sys.stdout.write(report(measure(args.requests, args.size, args.levels, args.data_dir)))


if __name__ == "__main__":
    main()
