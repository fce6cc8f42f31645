"""Every benchmark of the project in one run: JSON results, a Markdown summary and its charts.

    python3 -m uv run python -m bench [--only orders,search] [--quick] [--out DIR]

Runs each bench's `measure` in turn (orders against the engine floor, gateway overhead, catalog listing at
two sizes, embedded search at three, the raw engine, search on the running platform, images), each
measuring its own ratios side by side, with a progress bar on stderr; then writes `results.json` (the
machine, the command, every bench's figures), `summary.md` and its PNG charts into
`.commerce/bench/<UTC time>/` (or `--out`). PostgreSQL and Elasticsearch join when their test URLs are
set (`eval "$(deploy/local/infra env)"`). A bench that fails is recorded with its error and the others go
on; the exit status is then 1. `--quick`: small sizes, for a test of the command, not for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from bench import (
    charts,
    gateway,
    images,
    orders,
    products_read,
    search,
    search_engine,
    search_platform,
    stats,
)
from bench import summary as markdown

OUT = Path(".commerce/bench")


@dataclass(frozen=True)
class Bench:
    what: str
    run: Callable[[bool, stats.Progress], dict[str, Any]]
    chart: Callable[[dict[str, Any], Path], list[str]]
    summarize: Callable[[dict[str, Any], list[str]], str]
    headlines: Callable[[dict[str, Any]], list[tuple[str, str]]]


def _orders(quick: bool, progress: stats.Progress) -> dict[str, Any]:
    if quick:
        return asyncio.run(orders.measure(6, (1, 2), (1, 3), 3, progress=progress))
    return asyncio.run(orders.measure(60, (1, 4, 10), (1, 5, 10), 15, progress=progress))


def _gateway(quick: bool, progress: stats.Progress) -> dict[str, Any]:
    if quick:
        return gateway.measure(80, 200, (1, 4), progress=progress)
    return gateway.measure(600, 1000, (1, 8, 32), progress=progress)


def _databases() -> tuple[str, ...]:
    return ("sqlite", "postgres") if os.environ.get("COMMERCE_TEST_POSTGRES_URL") else ("sqlite",)


def _catalog(quick: bool, progress: stats.Progress) -> dict[str, Any]:
    if quick:
        return products_read.measure((200, 1000), ("sqlite",), 10, progress=progress)
    return products_read.measure((1000, 100_000), _databases(), 50, progress=progress)


def _search(quick: bool, progress: stats.Progress) -> dict[str, Any]:
    if quick:
        return search.measure((100, 500), 10, progress=progress)
    return search.measure((1000, 10_000, 100_000), 50, progress=progress)


def _engine(quick: bool, progress: stats.Progress) -> dict[str, Any]:
    """The embedded engine in a scratch file, and Elasticsearch too when its test URL is set."""
    sizes, requests = ((100, 500), 10) if quick else ((1000, 10_000), 100)
    engines: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as folder:
        url = f"sqlite:///{Path(folder) / 'search.db'}"
        engines["embedded"] = asyncio.run(search_engine.measure(url, sizes, requests, progress))
    elastic = os.environ.get("COMMERCE_TEST_ELASTIC_URL")
    if elastic and not quick:
        engines["elasticsearch"] = asyncio.run(search_engine.measure(elastic, sizes, requests, progress))
    return {"engines": engines}


def _platform_search(quick: bool, progress: stats.Progress) -> dict[str, Any]:
    if quick:
        return asyncio.run(
            search_platform.measure(sizes=(100, 500), products=3, requests=10, progress=progress)
        )
    return asyncio.run(
        search_platform.measure(sizes=(1000, 10_000), products=15, requests=50, progress=progress)
    )


def _images(quick: bool, progress: stats.Progress) -> dict[str, Any]:
    if quick:
        return asyncio.run(images.measure(3, 60, 4, progress))
    return asyncio.run(images.measure(15, 600, 20, progress))


BENCHES: dict[str, Bench] = {
    "orders": Bench(
        "order placement against the engine floor",
        _orders,
        charts.orders,
        markdown.orders,
        markdown.orders_headlines,
    ),
    "gateway": Bench(
        "the gateway against a direct call",
        _gateway,
        charts.gateway,
        markdown.gateway,
        markdown.gateway_headlines,
    ),
    "catalog": Bench(
        "catalog listing, small against large",
        _catalog,
        charts.catalog,
        markdown.catalog,
        markdown.catalog_headlines,
    ),
    "search": Bench(
        "embedded search against catalog size",
        _search,
        charts.search,
        markdown.search,
        markdown.search_headlines,
    ),
    "engine": Bench(
        "the search engine's own query", _engine, charts.engine, markdown.engine, markdown.engine_headlines
    ),
    "search_platform": Bench(
        "create-to-searchable, the search API against the engine",
        _platform_search,
        charts.search_platform,
        markdown.search_platform,
        markdown.search_platform_headlines,
    ),
    "images": Bench(
        "images, gateway against a static server",
        _images,
        charts.images,
        markdown.images,
        markdown.images_headlines,
    ),
}


def machine() -> dict[str, Any]:
    """What the figures ran on: cores, memory, load average (other jobs share it), Python, the commit."""
    memory = next(
        int(line.split()[1]) // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "cores": os.cpu_count(),
        "memory_mib": memory,
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "system": platform.platform(),
        "commit": commit.stdout.strip() or None,
    }


@contextmanager
def progress_bar(total: int) -> Iterator[tuple[Progress, TaskID]]:
    """A bar over the benches on stderr, with the bench and the step under way and the time it has run."""
    with Progress(
        TextColumn("[bold]{task.fields[bench]:<16}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
    ) as bar:
        yield bar, bar.add_task("", total=total, bench="")


def run(names: Sequence[str], quick: bool, out: Path, command: str) -> dict[str, Any]:
    """Every bench of `names` measured, charted and summarized into `out`; the results as written."""
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "quick": quick,
        "machine": machine(),
        "benches": {},
    }
    with progress_bar(len(names)) as (bar, task):
        for name in names:
            bar.update(task, bench=name, description="starting")
            began = time.monotonic()
            try:
                figures = BENCHES[name].run(quick, lambda what: bar.update(task, description=what))
            except (Exception, SystemExit) as failure:  # one bench down is no reason to lose the others
                figures = {"error": f"{type(failure).__name__}: {failure}", "trace": traceback.format_exc()}
            figures["seconds"] = time.monotonic() - began
            results["benches"][name] = figures
            (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")  # kept if cut short
            bar.advance(task)
        bar.update(task, bench="", description="charts and summary")
    results["machine"]["load_average_after"] = list(os.getloadavg())
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    sections, headlines = [], []
    for name, figures in results["benches"].items():
        bench = BENCHES[name]
        if "error" in figures:
            sections.append(f"## {name}: {bench.what}\n\n{markdown.failed(figures)}")
            headlines.append((name, bench.what, "failed"))
            continue
        pictures = bench.chart(figures, out)
        sections.append(f"## {name}: {bench.what}\n\n{bench.summarize(figures, pictures)}")
        headlines += [(name, what, figure) for what, figure in bench.headlines(figures)]
    (out / "summary.md").write_text(markdown.page(results, [markdown.headlines(headlines), *sections]))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help=f"a comma-separated choice of: {', '.join(BENCHES)}")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the command, not the code")
    parser.add_argument("--out", type=Path, help="the folder to write into (default: .commerce/bench/<time>)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}; choose among {', '.join(BENCHES)}")
    out = args.out or OUT / datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    results = run(
        names, args.quick, out, " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    )
    failed = [n for n, figures in results["benches"].items() if "error" in figures]
    sys.stderr.write(f"results: {out / 'results.json'}\nsummary: {out / 'summary.md'}\n")
    for name in failed:
        sys.stderr.write(f"{name} failed: {results['benches'][name]['error']}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
