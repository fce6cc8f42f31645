"""Raw engine query latency: the search-index adapter called directly, no HTTP service in front.

    python3 -m uv run python -m bench.search_engine [--url http://127.0.0.1:9200] [--sizes 1000 10000]

The floor that `GET /search/products` is compared with: for each size, a synthetic catalog is built with
`rebuild` into a scratch index (an alias of its own on Elasticsearch, deleted afterwards), then each request
runs one at a time after a warm-up. Reported: median and p99 of `SearchIndex.search` per request and size.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from bench import stats
from kit.search import IndexedVariant, SearchDocument, SearchIndex, SearchQuery, open_search

WORDS = [
    "trail",
    "running",
    "shoe",
    "leather",
    "boot",
    "wool",
    "sweater",
    "cotton",
    "shirt",
    "denim",
    "jacket",
    "silk",
    "scarf",
    "canvas",
    "bag",
]
CATEGORIES = ("shoes", "clothing", "bags", "accessories")
REQUESTS: dict[str, SearchQuery] = {
    "text q=shoe, facets, 24 a page (typical)": SearchQuery(text="shoe"),
    "misspelled q=sweatr, French": SearchQuery(text="sweatr", language="fr"),
    "category + in stock + Color, by price": SearchQuery(
        category="shoes",
        in_stock=True,
        attributes={"Color": ["Red", "Blue"]},
        sort_by="price",
        sort_order="asc",
    ),
    "no text, page 3, newest": SearchQuery(page=3, sort_by="createdAt"),
}


def catalog(size: int, rng: random.Random) -> list[SearchDocument]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    documents = []
    for number in range(size):
        name = " ".join(rng.sample(WORDS, 3)).title()
        category = rng.choice(CATEGORIES)
        variants = [
            IndexedVariant(
                f"v{number}-{i}",
                Decimal(rng.randint(500, 80_000)) / 100,
                rng.choice((0, 0, 5, 20)),
                {"Color": rng.choice(("Red", "Blue", "Black", "White")), "Size": rng.choice("SML")},
            )
            for i in range(rng.randint(1, 3))
        ]
        created = start + timedelta(minutes=number)
        documents.append(
            SearchDocument(
                id=f"p{number:06d}",
                sku=f"SKU-{number:06d}",
                name={"en": name, "fr": name},
                description={"en": f"A {name.lower()} for every day."},
                category_names=[{"en": category.title()}],
                category_slugs=[category],
                variants=variants,
                created_at=created,
                updated_at=created,
                document={"id": f"p{number:06d}", "name": {"en": name}},
            )
        )
    return documents


async def batches(
    documents: Sequence[SearchDocument], size: int = 1_000
) -> AsyncIterator[Sequence[SearchDocument]]:
    for start in range(0, len(documents), size):
        yield documents[start : start + size]


async def timings(index: SearchIndex, query: SearchQuery, requests: int) -> list[float]:
    for _ in range(20):
        await index.search(query)
    spent = []
    for _ in range(requests):
        began = time.perf_counter()
        await index.search(query)
        spent.append((time.perf_counter() - began) * 1000)
    return spent


async def measure(
    url: str, sizes: Sequence[int], requests: int, progress: stats.Progress = stats.quiet
) -> dict[str, Any]:
    """For each size, the seconds its rebuild took and each request's figures."""
    if urlsplit(url).scheme in ("http", "https"):
        url = f"{url.rstrip('/')}/bench-search-{uuid.uuid4().hex[:8]}"
    results: dict[str, Any] = {"engine": urlsplit(url).scheme, "requests": requests, "sizes": {}}
    async with open_search(url) as index:
        await index.ensure()
        try:
            for size in sizes:
                progress(f"indexing {size} products")
                began = time.perf_counter()
                await index.rebuild(batches(catalog(size, random.Random(1))))
                indexed = time.perf_counter() - began
                progress(f"{len(REQUESTS)} requests x {requests} on {size} products")
                results["sizes"][str(size)] = {
                    "index_s": indexed,
                    "requests": {
                        name: stats.latency(await timings(index, query, requests))
                        for name, query in REQUESTS.items()
                    },
                }
        finally:
            await drop(index)
    return results


def report(results: dict[str, Any]) -> str:
    out = ""
    for size, figures in results["sizes"].items():
        out += f"{size} products indexed in {figures['index_s']:.1f} s\n"
        for name, f in figures["requests"].items():
            out += f"  {name:45} median {f['median_ms']:6.2f} ms  p99 {f['p99_ms']:6.2f} ms\n"
    return out


async def drop(index: SearchIndex) -> None:
    """The scratch Elasticsearch indices go; an embedded index is a file the caller chose."""
    from kit.search.elastic import ElasticSearch

    if isinstance(index, ElasticSearch):
        found = await index.client.indices.get(index=f"{index.alias}-v*", allow_no_indices=True)
        if found.body:
            await index.client.indices.delete(index=list(found.body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default="http://127.0.0.1:9200", help="COMMERCE_SEARCH_URL of the engine (sqlite:///<file>)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--requests", type=int, default=300)
    arguments = parser.parse_args()
    print(report(asyncio.run(measure(arguments.url, arguments.sizes, arguments.requests))), end="")


if __name__ == "__main__":
    main()
