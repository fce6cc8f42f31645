"""Query latency of the embedded search index (SQLite FTS5) at several catalog sizes.

    python3 -m uv run python -m bench.search [--sizes 1000 10000 100000] [--requests 200]

For each size, the demo catalog's products (`apis.products.demo`, seed 1; the inactive ones left out, as
the search service does) are indexed once by `rebuild` into `bench/.data/search-<size>/search.db` and
reused. The index is then opened as a starting service opens it (`ensure`), and called in process, one
query at a time, after a warm-up. Reported: the build and opening times, p50 and p95 per scenario and
size, and the ratio of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from apis.products.demo import demo_product
from apis.products.demo_data import CATEGORIES
from apis.products.schemas.products import texts
from bench import stats
from kit.search import IndexedVariant, SearchDocument, SearchIndex, SearchQuery, open_search

ROOT = Path(__file__).resolve().parent
CATEGORY_IDS = {slug: str(uuid.UUID(int=n + 1)) for n, slug in enumerate(CATEGORIES)}
SLUGS = {category_id: slug for slug, category_id in CATEGORY_IDS.items()}
START = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 1000


def _search(**query: object) -> Callable[[SearchIndex], Awaitable[object]]:
    return lambda index: index.search(SearchQuery(**query))  # type: ignore[arg-type]


SCENARIOS: dict[str, Callable[[SearchIndex], Awaitable[object]]] = {
    "first page, no filter (all facets)": _search(limit=24),
    "text: backpack": _search(text="backpack", limit=24),
    "text, French: sac": _search(text="sac", language="fr", limit=24),
    "text, misspelled: hedphones": _search(text="hedphones", limit=24),
    "text, two words: samsung smartphone": _search(text="samsung smartphone", limit=24),
    "category + price + in stock, by price": _search(
        category="smartphones",
        min_price=Decimal(200),
        max_price=Decimal(800),
        in_stock=True,
        sort_by="price",
        sort_order="asc",
        limit=12,
    ),
    "parent category + attributes, newest": _search(
        category="mode", attributes={"Size": ["M", "L"]}, sort_by="createdAt", limit=24
    ),
    "suggest: sam": lambda index: index.suggest("sam", language="en"),
}


def document(index: int) -> SearchDocument | None:
    """Product `index` of the demo catalog as the search service indexes it; None when inactive."""
    draft = demo_product(1, index, CATEGORY_IDS)
    if not draft.is_active:
        return None
    leaf = SLUGS[str(draft.category_ids[0])]
    parent = CATEGORIES[leaf][1]
    slugs = [leaf, *([parent] if parent else [])]
    created = START + timedelta(minutes=index)
    product_id = str(uuid.UUID(int=index + 1))
    return SearchDocument(
        id=product_id,
        sku=draft.sku,
        name=texts(draft.name) or {},
        description=texts(draft.description) or {},
        category_names=[dict(zip(("en", "fr", "ar"), CATEGORIES[slug][0], strict=True)) for slug in slugs],
        category_slugs=slugs,
        variants=[
            IndexedVariant(f"{product_id}-{n}", v.price, v.initial_stock_quantity, v.attributes)
            for n, v in enumerate(draft.variants)
        ],
        created_at=created,
        updated_at=created,
        document={"id": product_id, **draft.model_dump(mode="json", by_alias=True)},
    )


async def ensure_index(size: int, path: Path) -> dict[str, float] | None:
    """Index `size` products into `path` unless a rebuild completed there; how many and how long if built."""
    built = path.with_name("built")  # written once a rebuild completed
    if built.exists():
        return None
    async with open_search(f"sqlite:///{path}") as index:
        await index.ensure()
        generating = 0.0

        async def batches() -> AsyncIterator[list[SearchDocument]]:
            nonlocal generating
            for first in range(0, size, BATCH):
                started = time.perf_counter()
                batch = [document(n) for n in range(first, min(first + BATCH, size))]
                generating += time.perf_counter() - started
                yield [d for d in batch if d is not None]

        started = time.perf_counter()
        indexed = await index.rebuild(batches())
        seconds = time.perf_counter() - started - generating
    built.touch()
    return {"indexed": indexed, "seconds": seconds}


async def scenario_timings(url: str, requests: int) -> tuple[float, dict[str, list[float]]]:
    """Milliseconds to open the index as a starting service does, and each scenario's latencies."""
    timings: dict[str, list[float]] = {}
    started = time.perf_counter()
    async with open_search(url) as index:
        await index.ensure()  # what a starting search service does: it loads the bitmaps too
        opened = (time.perf_counter() - started) * 1000
        for name, call in SCENARIOS.items():
            for _ in range(20):  # warm-up: page cache, statements
                await call(index)
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                await call(index)
                samples.append((time.perf_counter() - started) * 1000)
            timings[name] = samples
    return opened, timings


def measure(
    sizes: Sequence[int] = (1000, 10_000, 100_000),
    requests: int = 200,
    data_root: Path = ROOT / ".data",
    progress: stats.Progress = stats.quiet,
) -> dict[str, Any]:
    """Each size's index (built if need be) and scenarios, and the largest size against the smallest."""
    results: dict[str, Any] = {"requests": requests, "sizes": {}}
    for size in sizes:
        path = (data_root / f"search-{size}" / "search.db").resolve()
        progress(f"index of {size} products")
        build = asyncio.run(ensure_index(size, path))
        progress(f"{len(SCENARIOS)} queries x {requests} on {size} products")
        opened, timings = asyncio.run(scenario_timings(f"sqlite:///{path}", requests))
        results["sizes"][str(size)] = {
            "build": build,
            "open_ms": opened,
            "scenarios": {name: stats.latency(samples) for name, samples in timings.items()},
        }
    small, large = (results["sizes"][str(s)]["scenarios"] for s in (min(sizes), max(sizes)))
    results["ratios"] = {
        f"{max(sizes)} / {min(sizes)}": {
            name: stats.ratio(large[name], small[name], "median_ms", "p95_ms") for name in SCENARIOS
        }
    }
    return results


def report(results: dict[str, Any]) -> str:
    sizes = list(results["sizes"])
    (ratios,) = results["ratios"].values()
    header = f"{'scenario':<42}" + "".join(f"{f'{s} p50':>13}{f'{s} p95':>13}" for s in sizes)
    lines = [
        f"index of {size} products: "
        + (f"built in {f['build']['seconds']:.1f}s, " if f["build"] else "")
        + f"opened and ensured in {f['open_ms']:.0f} ms"
        for size, f in results["sizes"].items()
    ]
    lines += [header + f"{'ratio p50':>11}{'ratio p95':>11}", "-" * (len(header) + 22)]
    for name in SCENARIOS:
        row = f"{name:<42}"
        for size in sizes:
            figures = results["sizes"][size]["scenarios"][name]
            row += f"{figures['median_ms']:>11.2f}ms{figures['p95_ms']:>11.2f}ms"
        lines.append(row + f"{ratios[name]['median_ms']:>10.1f}x{ratios[name]['p95_ms']:>10.1f}x")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--requests", type=int, default=200, help="timed queries per scenario and size")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    args = parser.parse_args()
    sys.stdout.write(report(measure(args.sizes, args.requests, args.data_dir)))


if __name__ == "__main__":
    main()
