"""Order placement through the gateway of the embedded platform, against the floor of the same engine.

    python -m bench.orders [--orders 200] [--concurrency 10] [--metrics-overhead] [--tracing-overhead]

Both run in one process on one Temporal dev server, side by side: first the floor (a workflow running as
many no-op activities as a one-line card order's saga: reserve, charge, confirm), then real orders
(`POST /orders`, answered once the saga has confirmed the order). Prints median and p99 latency,
throughput, and the ratios real/floor. With `--metrics-overhead`, the real orders run twice, metrics on
(as deployed: every request and activity counted and timed, `/metrics` scraped every second, as a busy
Prometheus would) then off (`COMMERCE_METRICS_ENABLED=false`), and the ratios on/off are printed too.
With `--tracing-overhead`, they run once more with tracing on (kit.tracing: every span of every order made
and exported, to memory, as each ends) and the ratios traced/untraced are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.floor_saga import FloorSagaWorkflow, noop
from commerce.platform import serving
from kit import tracing
from kit.settings import SERVICES, RateLimit, Settings
from kit.temporal import dev_server

SAGA_ACTIVITIES = 3  # reserve_stock, charge_payment, set_order_status
ADDRESS = {"street": "1 Main St", "city": "Lyon", "postalCode": "69001", "country": "FR"}


async def measure(
    label: str, count: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> dict[str, float]:
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def timed(n: int) -> None:
        async with gate:
            started = time.perf_counter()
            await one(n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(timed(n) for n in range(count)))
    wall = time.perf_counter() - started
    latencies.sort()
    result = {
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "per_second": count / wall,
    }
    print(
        f"{label:<8} median {result['median_ms']:7.1f} ms   p99 {result['p99_ms']:7.1f} ms   "
        f"{result['per_second']:6.1f}/s   ({count} runs, {concurrency} at a time)"
    )
    return result


async def floor(settings: Settings, count: int, concurrency: int) -> dict[str, float]:
    client = await Client.connect(settings.temporal_address, data_converter=pydantic_data_converter)
    queue = f"bench-floor-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[FloorSagaWorkflow], activities=[noop]):

        async def one(n: int) -> None:
            await client.execute_workflow(
                FloorSagaWorkflow.run, SAGA_ACTIVITIES, id=f"floor-{queue}-{n}", task_queue=queue
            )

        await one(-1)  # warm-up
        return await measure("floor", count, concurrency, one)


async def scraping(settings: Settings) -> None:
    """Read every service's `/metrics` once a second, until cancelled."""
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            for service in SERVICES:
                await http.get(f"http://127.0.0.1:{settings.port_of(service)}/metrics")
            await asyncio.sleep(1)


async def orders(settings: Settings, count: int, concurrency: int, label: str = "orders") -> dict[str, float]:
    gateway = f"http://127.0.0.1:{settings.port_of('gateway')}"
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
                    {"attributes": {"Size": "M"}, "price": "10.00", "initialStockQuantity": 1_000_000}
                ],
            },
        )
        variant_id = product.json()["variants"][0]["id"]

        async def one(n: int) -> None:
            response = await http.post(
                "/orders",
                json={
                    "items": [{"variantId": variant_id, "quantity": 1}],
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

        await one(-1)  # warm-up
        scraper = asyncio.create_task(scraping(settings)) if settings.metrics_enabled else None
        try:
            return await measure(label, count, concurrency, one)
        finally:
            if scraper is not None:
                scraper.cancel()


async def traced_orders(settings: Settings, count: int, concurrency: int) -> dict[str, float]:
    """`orders` traced from before the platform starts (so its Temporal clients take the interceptor)."""
    exporter = InMemorySpanExporter()
    tracing.setup_tracing("commerce", settings, exporter=exporter)
    try:
        return await orders(settings, count, concurrency, label="traced")
    finally:
        tracing.stop_tracing()
        print(f"         {len(exporter.get_finished_spans())} spans exported")


async def main(
    count: int, concurrency: int, metrics_overhead: bool = False, tracing_overhead: bool = False
) -> None:
    with tempfile.TemporaryDirectory() as data:
        ports = dict(zip((*SERVICES, "gateway"), range(23001, 23008), strict=True))
        settings = Settings(
            environment="test",
            data_dir=Path(data),
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
        async with dev_server(settings, ui=False):
            base = await floor(settings, count, concurrency)
            real = await orders(settings, count, concurrency)
            if metrics_overhead:
                off = settings.model_copy(update={"metrics_enabled": False})
                without = await orders(off, count, concurrency, label="off")
            if tracing_overhead:
                traced = await traced_orders(settings, count, concurrency)
    ratio(real, base, "orders / floor")
    if metrics_overhead:
        ratio(real, without, "metrics on / off")
    if tracing_overhead:
        ratio(traced, real, "tracing on / off")


def ratio(a: dict[str, float], b: dict[str, float], what: str) -> None:
    print(
        f"ratio    median x{a['median_ms'] / b['median_ms']:.2f}"
        f"   p99 x{a['p99_ms'] / b['p99_ms']:.2f}"
        f"   throughput x{a['per_second'] / b['per_second']:.2f}  ({what})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--metrics-overhead", action="store_true", help="orders with metrics on, then off")
    parser.add_argument("--tracing-overhead", action="store_true", help="orders untraced, then traced")
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.orders, arguments.concurrency, arguments.metrics_overhead, arguments.tracing_overhead)
    )
