"""Search on the running platform: how soon a new product is found, and what the search API adds to the
engine's own query time.

    python3 -m uv run python -m bench.search_platform [--engine embedded|elasticsearch]
        [--sizes 1000 10000 100000] [--products 40] [--requests 200]

The platform runs as a user starts it, `commerce dev` (every service and worker in one process, a Temporal
dev server of its own), in a scratch data folder on free ports, with the embedded engine or a scratch
alias on `--elastic` (COMMERCE_SEARCH_URL). For each size the index is first filled to that many
products (synthetic ones, `bench.search_engine.catalog`, by a rebuild through the search-index port, as
`commerce search reindex` would), then:

- freshness: the admin creates products through the gateway one at a time, each named with a word of its
  own; from the moment the create is sent, `GET /search/products?q=<word>` is polled through the gateway
  every 10 ms until it answers the product. Reported: p50, p95 and p99 of create-to-searchable.
- API against engine: the same requests, one at a time after a warm-up, as `GET /search/products`
  straight to the search service (HTTP, validation, facets shaped, JSON) and as the search-index
  port's own query from this process (`SearchIndex.search`: for Elasticsearch an HTTP call too).
  Reported: medians, p99 and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import string
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench import stats
from bench.search_engine import batches, catalog, drop
from kit.search import SearchIndex, SearchQuery, open_search
from kit.settings import DEFAULT_PORTS, Settings

POLL = 0.01
REQUESTS: dict[str, tuple[dict[str, str], SearchQuery]] = {
    "q=shoe, facets, 24 a page": ({"q": "shoe"}, SearchQuery(text="shoe")),
    "q=sweatr (typo), French": ({"q": "sweatr"}, SearchQuery(text="sweatr", language="fr")),
    "category + in stock + price, by price": (
        {"category": "shoes", "inStock": "true", "minPrice": "50", "maxPrice": "300", "sortBy": "price"},
        SearchQuery(
            category="shoes", in_stock=True, min_price=Decimal(50), max_price=Decimal(300), sort_by="price"
        ),
    ),
    "no text, page 3, newest": (
        {"page": "3", "sortBy": "createdAt"},
        SearchQuery(page=3, sort_by="createdAt"),
    ),
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def platform(data_dir: Path, search_url: str) -> AsyncIterator[tuple[Settings, dict[str, int]]]:
    """`commerce dev` in `data_dir` on free ports; yields once the gateway and the search service answer."""
    ports = {name: free_port() for name in DEFAULT_PORTS}
    temporal = f"127.0.0.1:{free_port()}"
    env = os.environ | {
        "COMMERCE_PORTS": json.dumps(ports),
        "COMMERCE_TEMPORAL_ADDRESS": temporal,
        "COMMERCE_TEMPORAL_UI_PORT": str(free_port()),
        "COMMERCE_SEARCH_URL": search_url,
        "COMMERCE_LOG_LEVEL": "WARNING",
        # One client polling every 10 ms: the gateway's per-address limits are not what is measured.
        "COMMERCE_RATE_LIMIT": json.dumps({"per_second": 0}),
        "COMMERCE_STRICT_RATE_LIMIT": json.dumps({"per_second": 0}),
    }
    log = (data_dir / "platform.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "commerce", "dev", "--data-dir", str(data_dir), env=env, stdout=log, stderr=log
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}") as http:
            for _ in range(1200):
                if process.returncode is not None:
                    raise SystemExit(f"the platform stopped; see {data_dir / 'platform.log'}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/search/products?limit=1")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield Settings(data_dir=data_dir, search_url=search_url, temporal_address=temporal), ports
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        log.close()


async def admin_headers(http: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    """The admin's token, once the auth service has its keys (a fresh start may answer 503 a moment)."""
    body = {"email": settings.admin_email, "password": settings.admin_password.get_secret_value()}
    for _ in range(300):
        response = await http.post("/auth/login", json=body)
        if response.status_code != 503:
            break
        await asyncio.sleep(0.1)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def create_to_searchable(http: httpx.AsyncClient, admin: dict[str, str], rng: random.Random) -> float:
    """Seconds from sending a new product's create to its first appearance in a search for its word."""
    word = "".join(rng.choices(string.ascii_lowercase, k=12))
    body = {
        "sku": f"FRESH-{uuid.uuid4().hex[:10].upper()}",
        "name": {"en": f"Probe {word}"},
        "variants": [{"attributes": {"Color": "Red"}, "price": "10.00", "initialStockQuantity": 1}],
    }
    began = time.perf_counter()
    response = await http.post("/products", json=body, headers=admin)
    response.raise_for_status()
    created = response.json()
    product_id = created.get("data", created)["id"]
    while True:
        answer = await http.get("/search/products", params={"q": word, "limit": "5"})
        answer.raise_for_status()
        found = answer.json()
        if any(hit["id"] == product_id for hit in found["data"]):
            return time.perf_counter() - began
        if time.perf_counter() - began > 60:
            raise SystemExit(f"product {product_id} still not searchable after 60 s")
        await asyncio.sleep(POLL)


async def api_against_engine(
    search: httpx.AsyncClient, index: SearchIndex, requests: int
) -> dict[str, dict[str, Any]]:
    """For each request: the figures through the search service's API, of the engine query alone, and
    their ratio.
    """
    found: dict[str, dict[str, Any]] = {}
    for name, (params, query) in REQUESTS.items():
        path = f"/products?{urlencode(params)}"
        headers = {"Accept-Language": query.language}
        for _ in range(20):
            (await search.get(path, headers=headers)).raise_for_status()
            await index.search(query)
        api, engine = [], []
        for _ in range(requests):  # interleaved, so that both see the same machine
            began = time.perf_counter()
            (await search.get(path, headers=headers)).raise_for_status()
            api.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            await index.search(query)
            engine.append((time.perf_counter() - began) * 1000)
        figures = {"api": stats.latency(api), "engine": stats.latency(engine)}
        found[name] = figures | {
            "ratio": stats.ratio(figures["api"], figures["engine"], "median_ms", "p99_ms")
        }
    return found


def report(results: dict[str, Any]) -> str:
    out = ""
    for size, figures in results["sizes"].items():
        fresh = figures["create_to_searchable"]
        out += (
            f"{results['engine']}, {size} products indexed in {figures['index_s']:.1f} s\n"
            f"  create-to-searchable ({fresh['count']} products): p50 {fresh['median_ms']:.0f} ms"
            f"  p95 {fresh['p95_ms']:.0f} ms  p99 {fresh['p99_ms']:.0f} ms  max {fresh['max_ms']:.0f} ms\n"
        )
        for name, f in figures["requests"].items():
            api, engine, ratio = f["api"], f["engine"], f["ratio"]
            out += (
                f"  {name:40} API median {api['median_ms']:6.2f} ms p99 {api['p99_ms']:6.2f}"
                f" | engine median {engine['median_ms']:6.2f} ms p99 {engine['p99_ms']:6.2f}"
                f" | ratio {ratio['median_ms']:4.2f}x (p99 {ratio['p99_ms']:4.2f}x)\n"
            )
    return out


async def measure(
    engine: str = "embedded",
    elastic: str = "http://127.0.0.1:9200",
    sizes: Sequence[int] = (1_000, 10_000, 100_000),
    products: int = 40,
    requests: int = 200,
    progress: stats.Progress = stats.quiet,
) -> dict[str, Any]:
    """`commerce dev` started once; for each size its index filled, then freshness and API against engine."""
    results: dict[str, Any] = {"engine": engine, "requests": requests, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as folder:
        data_dir = Path(folder)
        if engine == "embedded":
            url = f"sqlite:///{data_dir / 'search.db'}"
        else:
            url = f"{elastic.rstrip('/')}/bench-platform-{uuid.uuid4().hex[:8]}"
        progress(f"starting commerce dev, search on {engine}")
        async with (
            platform(data_dir, url) as (settings, ports),
            open_search(url) as index,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}", timeout=60) as http,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['search']}", timeout=60) as search,
        ):
            try:
                admin = await admin_headers(http, settings)
                rng = random.Random(7)
                for size in sizes:
                    progress(f"indexing {size} products")
                    began = time.perf_counter()
                    await index.rebuild(batches(catalog(size, random.Random(1))))
                    indexed = time.perf_counter() - began
                    # The service finds the new generation on its next search and loads its bitmaps then
                    # (a reindex through the service loads them before the swap answers): not a write's cost.
                    (await search.get("/products?limit=1")).raise_for_status()
                    progress(f"{products} products created and searched for, {size} indexed")
                    fresh = [await create_to_searchable(http, admin, rng) * 1000 for _ in range(products)]
                    progress(f"{len(REQUESTS)} requests x {requests}, API and engine, {size} indexed")
                    results["sizes"][str(size)] = {
                        "index_s": indexed,
                        "create_to_searchable": stats.latency(fresh) | {"max_ms": max(fresh)},
                        "requests": await api_against_engine(search, index, requests),
                    }
            finally:
                await drop(index)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("embedded", "elasticsearch"), default="embedded")
    parser.add_argument("--elastic", default="http://127.0.0.1:9200", help="Elasticsearch, for that engine")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--products", type=int, default=40, help="products created per size")
    parser.add_argument("--requests", type=int, default=200, help="timed searches per request and size")
    args = parser.parse_args()
    figures = asyncio.run(measure(args.engine, args.elastic, args.sizes, args.products, args.requests))
    sys.stdout.write(report(figures))


if __name__ == "__main__":
    main()
