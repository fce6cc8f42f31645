"""Order placement through the gateway of the embedded platform, against the floor of the same engine.

    python -m bench.orders [--orders 200] [--concurrency 1 10] [--items 1 5 10] [--item-orders 30]
        [--metrics-overhead] [--tracing-overhead]

Both run in one process on one Temporal dev server, side by side: first the floor (a workflow running as
many no-op activities as a one-line card order's saga: reserve, charge, confirm) at each concurrency, then
real orders (`POST /orders`, answered once the saga has confirmed the order) of one line at each
concurrency, then `--item-orders` orders one at a time of each number of lines in `--items` (each line its
own variant). Prints median and p99 latency, throughput, and the ratios real/floor.

With `--metrics-overhead`, the one-line orders at the highest concurrency run again with metrics off
(`COMMERCE_METRICS_ENABLED=false`; on, as deployed, every request and activity is counted and timed and
`/metrics` scraped every second, as a busy Prometheus would), and the ratios on/off are printed too. With
`--tracing-overhead`, they run once more with tracing on (kit.tracing: every span of every order made and
exported, to memory, as each ends) and the ratios traced/untraced are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench import stats
from bench.floor_saga import FloorSagaWorkflow, noop
from commerce.platform import serving
from kit import tracing
from kit.settings import SERVICES, RateLimit, Settings
from kit.temporal import dev_server

SAGA_ACTIVITIES = 3  # reserve_stock, charge_payment, set_order_status
ADDRESS = {"street": "1 Main St", "city": "Lyon", "postalCode": "69001", "country": "FR"}


async def timed_runs(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    """Latency (median, p95, p99) and throughput of `count` calls of `one`, `concurrency` at a time."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def timed(n: int) -> None:
        async with gate:
            started = time.perf_counter()
            await one(n)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(timed(n) for n in range(count)))
    return stats.latency(latencies) | {"per_second": count / (time.perf_counter() - started)}


async def floor(settings: Settings, count: int, concurrencies: Sequence[int]) -> dict[str, dict[str, float]]:
    """The floor workflow's figures at each concurrency (keyed by it, as text: JSON's keys)."""
    client = await Client.connect(settings.temporal_address, data_converter=pydantic_data_converter)
    queue = f"bench-floor-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[FloorSagaWorkflow], activities=[noop]):

        async def one(n: int) -> None:
            await client.execute_workflow(
                FloorSagaWorkflow.run,
                SAGA_ACTIVITIES,
                id=f"floor-{queue}-{uuid.uuid4().hex}",
                task_queue=queue,
            )

        await one(-1)  # warm-up
        return {str(c): await timed_runs(count, c, one) for c in concurrencies}


async def scraping(settings: Settings) -> None:
    """Read every service's `/metrics` once a second, until cancelled."""
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            for service in SERVICES:
                await http.get(f"http://127.0.0.1:{settings.port_of(service)}/metrics")
            await asyncio.sleep(1)


async def orders(
    settings: Settings, runs: Sequence[tuple[int, int, int]], progress: stats.Progress = stats.quiet
) -> list[dict[str, float]]:
    """The platform started once, then for each run of `runs` (orders, concurrency, lines per order) its
    figures; the lines of an order are variants of one product, each of plenty of stock.
    """
    gateway = f"http://127.0.0.1:{settings.port_of('gateway')}"
    lines = max(items for _, _, items in runs)
    async with serving(settings), httpx.AsyncClient(base_url=gateway, timeout=60) as http:
        login = await http.post(
            "/auth/login",
            json={"email": settings.admin_email, "password": settings.admin_password.get_secret_value()},
        )
        admin = {"Authorization": f"Bearer {login.json()['token']}"}
        product = await http.post(
            "/products",
            headers=admin,
            json={
                "sku": f"BENCH-{uuid.uuid4().hex[:8]}",
                "name": {"en": "Bench"},
                "variants": [
                    {"attributes": {"Size": f"S{n}"}, "price": "10.00", "initialStockQuantity": 1_000_000}
                    for n in range(lines)
                ],
            },
        )
        variant_ids = [variant["id"] for variant in product.json()["variants"]]

        def placing(items: int) -> Callable[[int], Awaitable[None]]:
            async def one(n: int) -> None:
                response = await http.post(
                    "/orders",
                    json={
                        "items": [{"variantId": v, "quantity": 1} for v in variant_ids[:items]],
                        "shippingAddress": ADDRESS,
                        "phone": "0612345678",
                        "paymentMethod": "CREDIT_CARD",
                        "paymentToken": "tok_visa",
                        "guestEmail": f"bench-{n}-{uuid.uuid4().hex[:6]}@example.com",
                        "guestName": "Bench",
                    },
                )
                if response.status_code != 201:
                    raise RuntimeError(f"order {n}: {response.status_code} {response.text}")

            return one

        await placing(1)(-1)  # warm-up
        scraper = asyncio.create_task(scraping(settings)) if settings.metrics_enabled else None
        try:
            results = []
            for count, concurrency, items in runs:
                progress(f"{count} orders of {items} line(s), {concurrency} at a time")
                results.append(await timed_runs(count, concurrency, placing(items)))
            return results
        finally:
            if scraper is not None:
                scraper.cancel()


async def traced_orders(settings: Settings, count: int, concurrency: int) -> tuple[dict[str, float], int]:
    """`orders` traced from before the platform starts (so its Temporal clients take the interceptor), and
    how many spans were exported.
    """
    exporter = InMemorySpanExporter()
    tracing.setup_tracing("commerce", settings, exporter=exporter)
    try:
        (traced,) = await orders(settings, [(count, concurrency, 1)])
        return traced, len(exporter.get_finished_spans())
    finally:
        tracing.stop_tracing()


def bench_settings(data: Path) -> Settings:
    ports = dict(zip((*SERVICES, "gateway"), range(23001, 23002 + len(SERVICES)), strict=True))
    return Settings(
        environment="test",
        data_dir=data,
        ports=ports,
        temporal_address="127.0.0.1:27233",
        temporal_ui_port=28233,
        bus_url=f"memory://{uuid.uuid4().hex}",
        cache_url=f"memory://{uuid.uuid4().hex}",
        log_level="WARNING",
        rate_limit=RateLimit(per_second=0),  # one client at full speed: not what is measured
        strict_rate_limit=RateLimit(per_second=0),
        order_answer_seconds=60,  # every order answered once settled, however loaded the machine
    )


async def measure(
    count: int = 200,
    concurrencies: Sequence[int] = (10,),
    items: Sequence[int] = (),
    item_orders: int = 30,
    *,
    metrics_overhead: bool = False,
    tracing_overhead: bool = False,
    progress: stats.Progress = stats.quiet,
) -> dict[str, Any]:
    """Floor and one-line orders at each concurrency, orders of each number of lines one at a time, the
    overheads asked for, and the ratios of each pair measured side by side.
    """
    results: dict[str, Any] = {"orders_per_run": count, "saga_activities": SAGA_ACTIVITIES}
    runs = [(count, c, 1) for c in concurrencies] + [(item_orders, 1, n) for n in items]
    with tempfile.TemporaryDirectory() as data:
        settings = bench_settings(Path(data))
        async with dev_server(settings, ui=False):
            progress(f"floor: {count} no-op workflows at each concurrency {list(concurrencies)}")
            results["floor"] = await floor(settings, count, concurrencies)
            real = await orders(settings, runs, progress)
            results["orders"] = {str(c): real[n] for n, c in enumerate(concurrencies)}
            results["items"] = {str(n): real[len(concurrencies) + i] for i, n in enumerate(items)}
            results["item_orders"] = item_orders
            busiest = str(max(concurrencies))
            if metrics_overhead:
                progress("orders with metrics off")
                off = settings.model_copy(update={"metrics_enabled": False})
                (results["metrics_off"],) = await orders(off, [(count, max(concurrencies), 1)])
            if tracing_overhead:
                progress("orders traced")
                results["traced"], results["spans"] = await traced_orders(settings, count, max(concurrencies))
    keys = ("median_ms", "p99_ms", "per_second")
    results["ratios"] = {
        f"orders / floor, concurrency {c}": stats.ratio(results["orders"][c], results["floor"][c], *keys)
        for c in results["orders"]
    }
    if metrics_overhead:
        results["ratios"]["metrics on / off"] = stats.ratio(
            results["orders"][busiest], results["metrics_off"], *keys
        )
    if tracing_overhead:
        results["ratios"]["tracing on / off"] = stats.ratio(
            results["traced"], results["orders"][busiest], *keys
        )
    return results


def report(results: dict[str, Any]) -> str:
    def line(label: str, figures: dict[str, float], runs: str) -> str:
        return (
            f"{label:<22} median {figures['median_ms']:7.1f} ms   p99 {figures['p99_ms']:7.1f} ms   "
            f"{figures['per_second']:6.1f}/s   ({runs})\n"
        )

    out = ""
    for concurrency, figures in results["floor"].items():
        out += line("floor", figures, f"{results['orders_per_run']} runs, {concurrency} at a time")
    for concurrency, figures in results["orders"].items():
        out += line("orders", figures, f"{results['orders_per_run']} runs, {concurrency} at a time")
    for lines, figures in results["items"].items():
        out += line(f"orders of {lines} line(s)", figures, f"{results['item_orders']} runs, one at a time")
    if "metrics_off" in results:
        out += line("metrics off", results["metrics_off"], "the busiest concurrency")
    if "traced" in results:
        out += line("traced", results["traced"], f"{results['spans']} spans exported")
    for what, r in results["ratios"].items():
        out += (
            f"ratio    median x{r['median_ms']:.2f}   p99 x{r['p99_ms']:.2f}"
            f"   throughput x{r['per_second']:.2f}  ({what})\n"
        )
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10])
    parser.add_argument("--items", type=int, nargs="*", default=[], help="lines per order, one at a time")
    parser.add_argument("--item-orders", type=int, default=30, help="orders of each number of lines")
    parser.add_argument("--metrics-overhead", action="store_true", help="orders with metrics on, then off")
    parser.add_argument("--tracing-overhead", action="store_true", help="orders untraced, then traced")
    arguments = parser.parse_args()
    figures = asyncio.run(
        measure(
            arguments.orders,
            arguments.concurrency,
            arguments.items,
            arguments.item_orders,
            metrics_overhead=arguments.metrics_overhead,
            tracing_overhead=arguments.tracing_overhead,
        )
    )
    print(report(figures), end="")
