"""Images through the gateway of the embedded platform, against a plain static file server.

    python -m bench.images [--uploads 30] [--requests 2000] [--concurrency 20]

One run, one process: the platform's APIs and gateway on free ports (no workers), then
1. upload-to-served: a signed-in user uploads distinct 1024x768 JPEGs one at a time (`POST
   /images/upload`, decoded, cleaned, resized, stored), each timed until `GET /images/<name>` has answered
   200 with its bytes;
2. serving: the same stored image fetched `--requests` times, `--concurrency` at a time, through the
   gateway (rate limits on, too high to refuse), straight from the images service, and from Python's
   `http.server` serving the storage folder.
Prints median and p95 latencies, requests per second and the ratios gateway / static and service / static.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import logging
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bench import stats
from commerce.platform import serving
from kit.settings import SERVICES, Settings


def photo(seed: int) -> bytes:
    """A 1024x768 JPEG: smooth bands plus noise, about the weight of a product photo."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((1024, 768)).convert("RGB")
    noise = Image.frombytes("RGB", (256, 192), rng.randbytes(256 * 192 * 3)).resize((1024, 768))
    out = io.BytesIO()
    Image.blend(image, noise, 0.3).save(out, "JPEG", quality=85)
    return out.getvalue()


async def hammer(count: int, concurrency: int, one: Callable[[], Awaitable[None]]) -> dict[str, float]:
    """Latency and requests per second of `count` calls of `one`, `concurrency` at a time, after a warm-up."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def timed() -> None:
        async with gate:
            started = time.perf_counter()
            await one()
            latencies.append((time.perf_counter() - started) * 1000)

    for _ in range(20):  # warm-up: connections, caches
        await one()
    started = time.perf_counter()
    await asyncio.gather(*(timed() for _ in range(count)))
    return stats.latency(latencies) | {"per_second": count / (time.perf_counter() - started)}


def static_server(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def check(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return response


async def upload_to_served(
    http: httpx.AsyncClient, gateway: str, token: str, uploads: int
) -> tuple[dict[str, float], str, int]:
    """Upload distinct photos one at a time, each timed until it is served; their figures, and the last
    one's name and size.
    """
    headers = {"Authorization": f"Bearer {token}"}
    latencies, name, size, weight = [], "", 0, 0
    for n in range(uploads):
        data = photo(n)
        weight = len(data)
        started = time.perf_counter()
        files = {"imageFile": ("p.jpg", data, "image/jpeg")}
        answer = check(await http.post(f"{gateway}/images/upload", files=files, headers=headers), 201).json()
        name, size = answer["filename"], answer["size"]
        check(await http.get(f"{gateway}/images/{name}"), 200)
        latencies.append((time.perf_counter() - started) * 1000)
    one_at_a_time = {"per_second": 1000 * uploads / sum(latencies), "uploaded_bytes": weight}
    return stats.latency(latencies) | one_at_a_time, name, size


async def serving_rates(
    http: httpx.AsyncClient, targets: dict[str, str], size: int, requests: int, concurrency: int
) -> dict[str, dict[str, float]]:
    rates = {}
    for label, url in targets.items():

        async def one(url: str = url) -> None:
            if len(check(await http.get(url), 200).content) != size:
                raise RuntimeError(f"{url}: a short answer")

        rates[label] = await hammer(requests, concurrency, one)
    return rates


async def measure(
    uploads: int = 30, requests: int = 2000, concurrency: int = 20, progress: stats.Progress = stats.quiet
) -> dict[str, Any]:
    """The platform's APIs and gateway started, then upload-to-served and the serving rates, and the
    ratios of the rates to the static server's.
    """
    logging.getLogger("kit.outbox").setLevel(logging.CRITICAL)  # no Temporal here: registrations wait
    with tempfile.TemporaryDirectory() as data:
        ports = dict(zip((*SERVICES, "gateway"), range(24001, 24002 + len(SERVICES)), strict=True))
        settings = Settings(
            environment="test",
            data_dir=Path(data),
            ports=ports,
            temporal_address="127.0.0.1:1",
            bus_url=f"memory://{uuid.uuid4().hex}",
            cache_url=f"memory://{uuid.uuid4().hex}",
            log_level="WARNING",
            rate_limit={
                "per_second": 1e9,
                "burst": 1_000_000_000,
            },  # on (its cost is measured), never refusing
        )
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        progress("starting the APIs and the gateway")
        async with serving(settings, queues=[]), httpx.AsyncClient(limits=limits, timeout=60) as http:
            user = {
                "name": "Bench",
                "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
                "password": "x" * 12,
            }
            token = check(await http.post(f"{gateway}/auth/register", json=user), 201).json()["token"]
            progress(f"{uploads} uploads, each until served")
            uploaded, name, size = await upload_to_served(http, gateway, token, uploads)
            server, static = static_server(Path(settings.images_store))
            try:
                targets = {
                    "gateway": f"{gateway}/images/{name}",
                    "service": f"http://127.0.0.1:{ports['images']}/{name}",
                    "static": f"{static}/{name}",
                }
                progress(f"one image served {requests} times, {concurrency} at a time, from each of 3")
                served = await serving_rates(http, targets, size, requests, concurrency)
            finally:
                server.shutdown()
    return {
        "uploads": uploads,
        "upload_to_served": uploaded,
        "image_bytes": size,
        "requests": requests,
        "concurrency": concurrency,
        "serving": served,
        "ratios": {
            f"{label} / static": stats.ratio(served[label], served["static"], "per_second")
            for label in ("gateway", "service")
        },
    }


LABELS = {
    "gateway": "gateway /images/<name>",
    "service": "images service /<name>",
    "static": "static http.server",
}


def report(results: dict[str, Any]) -> str:
    def line(label: str, f: dict[str, float]) -> str:
        return (
            f"  {label:<26} median {f['median_ms']:7.2f} ms   p95 {f['p95_ms']:7.2f} ms"
            f"   {f['per_second']:8.1f}/s\n"
        )

    uploaded = results["upload_to_served"]
    out = (
        f"upload-to-served, {results['uploads']} JPEGs of 1024x768 ({uploaded['uploaded_bytes'] // 1024} KiB"
        " uploaded), one at a time:\n" + line("through the gateway", uploaded)
    )
    out += (
        f"serving one {results['image_bytes'] // 1024} KiB image, {results['requests']} requests,"
        f" {results['concurrency']} at a time:\n"
    )
    out += "".join(line(LABELS[label], f) for label, f in results["serving"].items())
    gateway, service = (results["ratios"][f"{n} / static"]["per_second"] for n in ("gateway", "service"))
    return (
        out + f"ratio    gateway / static x{gateway:.2f}   service / static x{service:.2f}   (per second)\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    arguments = parser.parse_args()
    print(report(asyncio.run(measure(arguments.uploads, arguments.requests, arguments.concurrency))), end="")
