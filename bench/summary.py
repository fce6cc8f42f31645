"""The benchmark command's Markdown: a table of each bench's figures, its ratios, and its charts.

Each function takes one bench's figures (as its `measure` returned them) and the names of its charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def _x(value: float) -> str:
    return f"{value:.2f}x"


def _pair(figures: dict[str, float], first: str, second: str) -> str:
    return f"{figures[first]:.2f} / {figures[second]:.2f}"


def _api_engine(figures: dict[str, Any]) -> str:
    api, engine = figures["api"]["median_ms"], figures["engine"]["median_ms"]
    return f"{api:.2f} / {engine:.2f} = {_x(figures['ratio']['median_ms'])}"


def _pictures(pictures: Sequence[str]) -> str:
    return "".join(f"\n![{name.removesuffix('.png')}]({name})\n" for name in pictures)


def page(results: dict[str, Any], sections: Sequence[str]) -> str:
    box = results["machine"]
    load = ", ".join(f"{v:.2f}" for v in box["load_average"])
    after = ", ".join(f"{v:.2f}" for v in box["load_average_after"])
    head = (
        f"# Benchmarks, {results['started']}\n\n"
        f"`{results['command']}`{' (quick: small sizes, not figures to quote)' if results['quick'] else ''}"
        f", from {results['started']} to {results['finished']}, commit {box['commit']}.\n\n"
        f"Machine: {box['cores']} cores, {box['memory_mib'] / 1024:.1f} GiB, load average {load} at the start"
        f" and {after} at the end; Python {box['python']}, {box['system']}. Each ratio compares two runs made"
        " side by side in this run; absolute times move with the machine's load.\n"
    )
    return head + "".join(f"\n{section}" for section in sections)


def failed(figures: dict[str, Any]) -> str:
    return f"Failed after {figures['seconds']:.0f} s: `{figures['error']}`\n"


def orders(figures: dict[str, Any], pictures: Sequence[str]) -> str:
    rows: list[list[object]] = []
    for what in ("floor", "orders"):
        for clients, f in figures[what].items():
            runs = figures["orders_per_run"]
            rows.append([what, 1, clients, runs, f["median_ms"], f["p99_ms"], f["per_second"]])
    for lines, f in figures["items"].items():
        rows.append(
            ["orders", lines, 1, figures["item_orders"], f["median_ms"], f["p99_ms"], f["per_second"]]
        )
    ratios = [
        [what, _x(r["median_ms"]), _x(r["p99_ms"]), _x(r["per_second"])]
        for what, r in figures["ratios"].items()
    ]
    return (
        "The floor is a workflow of as many no-op activities as a one-line card order's saga"
        f" ({figures['saga_activities']}), on the same Temporal server.\n\n"
        + _table(["what", "lines", "clients", "runs", "median ms", "p99 ms", "per second"], rows)
        + "\n"
        + _table(["ratio", "median", "p99", "throughput"], ratios)
        + _pictures(pictures)
    )


def gateway(figures: dict[str, Any], pictures: Sequence[str]) -> str:
    rows = [
        [
            clients,
            level["direct"]["median_ms"],
            level["gateway"]["median_ms"],
            _x(level["ratio"]["median_ms"]),
            level["added_median_ms"],
            level["direct"]["p99_ms"],
            level["gateway"]["p99_ms"],
            _x(level["ratio"]["p99_ms"]),
            level["cpu_ms_per_request"]["gateway"],
        ]
        for clients, level in figures["levels"].items()
    ]
    header = ["clients", "direct median ms", "gateway median ms", "ratio", "added ms"]
    header += ["direct p99 ms", "gateway p99 ms", "ratio", "gateway CPU ms/request"]
    return (
        f"`GET /id/{{id}}` of a catalog of {figures['size']}, {figures['requests']} requests a level and"
        " path.\n\n" + _table(header, rows) + _pictures(pictures)
    )


def _by_size(
    by_size: dict[str, dict[str, dict[str, float]]], ratios: dict[str, dict[str, float]], tail: str, name: str
) -> str:
    """A row a scenario: its median at each size, then the ratio named `name` of its median and its `tail`
    (p95 or p99).
    """
    sizes = list(by_size)
    header = ["scenario", *(f"{s} median ms" for s in sizes), f"{name} median", tail]
    rows = [
        [
            scenario,
            *(by_size[s][scenario]["median_ms"] for s in sizes),
            _x(r["median_ms"]),
            _x(r[f"{tail}_ms"]),
        ]
        for scenario, r in ratios.items()
    ]
    return _table(header, rows)


def catalog(figures: dict[str, Any], pictures: Sequence[str]) -> str:
    out = ""
    for database, found in figures["databases"].items():
        ((name, ratios),) = found["ratios"].items()
        out += f"{database}, {figures['requests']} requests a scenario and size:\n\n"
        out += _by_size(found["sizes"], ratios, "p99", name) + "\n"
    return out + _pictures(pictures)


def search(figures: dict[str, Any], pictures: Sequence[str]) -> str:
    ((name, ratios),) = figures["ratios"].items()
    by_size = {n: size["scenarios"] for n, size in figures["sizes"].items()}
    return (
        f"In process, {figures['requests']} queries a scenario and size.\n\n"
        + _by_size(by_size, ratios, "p95", name)
        + _pictures(pictures)
    )


def engine(figures: dict[str, Any], pictures: Sequence[str]) -> str:
    out = ""
    for name, found in figures["engines"].items():
        sizes = list(found["sizes"])
        requests = list(found["sizes"][sizes[0]]["requests"])
        rows = [
            [r, *(_pair(found["sizes"][s]["requests"][r], "median_ms", "p99_ms") for s in sizes)]
            for r in requests
        ]
        rows.append(["indexing, s", *(found["sizes"][s]["index_s"] for s in sizes)])
        out += f"{name}, `SearchIndex.search` called directly:\n\n"
        out += _table(["request", *(f"{s} median / p99 ms" for s in sizes)], rows) + "\n"
    return out + _pictures(pictures)


def search_platform(figures: dict[str, Any], pictures: Sequence[str]) -> str:
    sizes = list(figures["sizes"])
    fresh = [
        [
            s,
            f["create_to_searchable"]["count"],
            f["create_to_searchable"]["median_ms"],
            f["create_to_searchable"]["p95_ms"],
            f["create_to_searchable"]["p99_ms"],
            f["create_to_searchable"]["max_ms"],
        ]
        for s, f in figures["sizes"].items()
    ]
    requests = list(figures["sizes"][sizes[0]]["requests"])
    rows = [[r, *(_api_engine(figures["sizes"][s]["requests"][r]) for s in sizes)] for r in requests]
    return (
        f"`commerce dev`, search on the {figures['engine']} engine. Create-to-searchable, through the"
        " gateway:\n\n"
        + _table(["products", "created", "p50 ms", "p95 ms", "p99 ms", "max ms"], fresh)
        + "\nThe search service's `GET /products` against the engine's own query, medians:\n\n"
        + _table(["request", *(f"{s}: API / engine ms" for s in sizes)], rows)
        + _pictures(pictures)
    )


def images(figures: dict[str, Any], pictures: Sequence[str]) -> str:
    up = figures["upload_to_served"]
    rows: list[list[object]] = [
        [
            f"upload-to-served, {figures['uploads']} JPEGs one at a time",
            up["median_ms"],
            up["p95_ms"],
            up["per_second"],
        ]
    ]
    rows += [
        [
            f"{name}, {figures['requests']} requests, {figures['concurrency']} at a time",
            f["median_ms"],
            f["p95_ms"],
            f["per_second"],
        ]
        for name, f in figures["serving"].items()
    ]
    ratios = ", ".join(f"{name} {_x(r['per_second'])}" for name, r in figures["ratios"].items())
    return (
        _table(["what", "median ms", "p95 ms", "per second"], rows)
        + f"\nThroughput {ratios}.\n"
        + _pictures(pictures)
    )


# The headlines: one or two rows per bench, its main ratios, for the top of the summary and the README.


def _range(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return _x(low) if f"{low:.2f}" == f"{high:.2f}" else f"{_x(low)} to {_x(high)}"


def orders_headlines(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    busiest = max(figures["orders"], key=int)
    ratio = figures["ratios"][f"orders / floor, concurrency {busiest}"]
    real, floor = figures["orders"][busiest], figures["floor"][busiest]
    rows.append(
        (
            f"order saga throughput against a no-op workflow of 3 activities, {busiest} clients",
            f"{_x(ratio['per_second'])} ({real['per_second']:.1f} against {floor['per_second']:.1f}/s)",
        )
    )
    if "1" in figures["orders"]:
        alone = figures["orders"]["1"]["median_ms"]
        rows.append(
            (
                "uncontended `POST /orders` (card), p50",
                f"{alone:.0f} ms (the floor: {figures['floor']['1']['median_ms']:.0f} ms)",
            )
        )
    if len(figures["items"]) > 1:
        lines = sorted(figures["items"], key=int)
        first, last = figures["items"][lines[0]], figures["items"][lines[-1]]
        rows.append(
            (
                f"`POST /orders` of {lines[-1]} lines against {lines[0]}, p50",
                f"{_x(last['median_ms'] / first['median_ms'])}"
                f" ({last['median_ms']:.0f} against {first['median_ms']:.0f} ms)",
            )
        )
    return rows


def gateway_headlines(figures: dict[str, Any]) -> list[tuple[str, str]]:
    levels = figures["levels"]
    return [
        (
            "gateway against a direct product read, median",
            ", ".join(f"{_x(level['ratio']['median_ms'])} at {clients}" for clients, level in levels.items()),
        )
    ]


def catalog_headlines(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for database, found in figures["databases"].items():
        ((name, ratios),) = found["ratios"].items()
        listing = [
            r["median_ms"] for scenario, r in ratios.items() if not scenario.startswith(("text", "read"))
        ]
        rows.append(
            (f"catalog listing, {name} products, p50, {database}", f"{_range(listing)} over the hot queries")
        )
    return rows


def search_headlines(figures: dict[str, Any]) -> list[tuple[str, str]]:
    ((name, ratios),) = figures["ratios"].items()
    text = [r["median_ms"] for scenario, r in ratios.items() if scenario.startswith("text")]
    other = [r["median_ms"] for scenario, r in ratios.items() if not scenario.startswith("text")]
    return [
        (
            f"embedded search, {name} products, p50",
            f"text {_range(text)}; filters, facets, suggest {_range(other)}",
        )
    ]


def engine_headlines(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for engine, found in figures["engines"].items():
        typical = [
            f"{size['requests'][next(iter(size['requests']))]['median_ms']:.1f} ms at {n}"
            for n, size in found["sizes"].items()
        ]
        rows.append((f"{engine} engine's own query, a text search with facets, median", ", ".join(typical)))
    return rows


def search_platform_headlines(figures: dict[str, Any]) -> list[tuple[str, str]]:
    sizes = figures["sizes"]
    fresh = " / ".join(f"{size['create_to_searchable']['p99_ms'] / 1000:.2f}" for size in sizes.values())
    ratios = [r["ratio"]["median_ms"] for size in sizes.values() for r in size["requests"].values()]
    return [
        (
            f"create-to-searchable through the gateway, p99, {' / '.join(sizes)} products",
            f"{fresh} s ({figures['engine']})",
        ),
        (f"search API against the engine's own query, median, {figures['engine']}", _range(ratios)),
    ]


def images_headlines(figures: dict[str, Any]) -> list[tuple[str, str]]:
    gateway, service = (figures["ratios"][f"{n} / static"]["per_second"] for n in ("gateway", "service"))
    return [
        (
            "serving an image, throughput against a static file server",
            f"gateway {_x(gateway)}, images service {_x(service)}",
        ),
        ("upload-to-served through the gateway, p50", f"{figures['upload_to_served']['median_ms']:.0f} ms"),
    ]


def headlines(rows: Sequence[tuple[str, str, str]]) -> str:
    """The table of (bench, what, figure) rows."""
    return _table(["bench", "what", "figure"], rows)
