"""The benchmark command's charts: how each cost grows with its input, one PNG per question.

Each function takes one bench's figures (as its `measure` returned them) and the output folder, and returns
the names of the PNG files it wrote there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullLocator

DPI = 90


def _figure(columns: int = 1) -> tuple[Figure, list[Axes]]:
    figure, axes = plt.subplots(1, columns, figsize=(6.4 * columns, 4.2), squeeze=False)
    return figure, list(axes[0])


def _save(figure: Figure, out: Path, name: str) -> str:
    figure.tight_layout()
    figure.savefig(out / name, dpi=DPI)
    plt.close(figure)
    return name


def _plot(
    axes: Axes,
    xs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
    ylabel: str = "ms",
    log: bool = False,
    small_legend: bool = False,
) -> None:
    for label, ys in series.items():
        axes.plot(xs, ys, marker="o", label=label, linestyle="--" if "floor" in label else "-")
    if log:
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        axes.yaxis.set_minor_locator(NullLocator())
    else:
        axes.set_ylim(bottom=0)
    _sizes_axis(axes, xs, log)
    axes.set(title=title, xlabel=xlabel, ylabel=f"{ylabel} (log)" if log else ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="x-small" if small_legend else "small")


def _sizes_axis(axes: Axes, xs: Sequence[float], log: bool) -> None:
    """The x axis ticked at the measured inputs only (sizes, clients), logarithmic if asked."""
    if log:
        axes.set_xscale("log")
    axes.set_xticks(list(xs), [_size(x) for x in xs])
    axes.xaxis.set_minor_locator(NullLocator())


def _size(x: float) -> str:
    return f"{x / 1000:g}k" if x >= 1000 else f"{x:g}"


def _column(by_key: Mapping[str, Mapping[str, Any]], field: str) -> list[float]:
    return [float(figures[field]) for figures in by_key.values()]


def _keys(by_key: Mapping[str, Any]) -> list[float]:
    return [float(key) for key in by_key]


def orders(figures: dict[str, Any], out: Path) -> list[str]:
    written = []
    if figures["items"]:
        figure, (axes,) = _figure()
        items = figures["items"]
        series = {"order median": _column(items, "median_ms"), "order p99": _column(items, "p99_ms")}
        if "1" in figures["floor"]:
            series["floor median (3 no-op activities)"] = [figures["floor"]["1"]["median_ms"]] * len(items)
        _plot(axes, _keys(items), series, title="POST /orders, one at a time", xlabel="lines per order")
        written.append(_save(figure, out, "orders_items.png"))
    figure, (latency, throughput) = _figure(2)
    clients = _keys(figures["orders"])
    _plot(
        latency,
        clients,
        {
            "orders median": _column(figures["orders"], "median_ms"),
            "orders p99": _column(figures["orders"], "p99_ms"),
            "floor median": _column(figures["floor"], "median_ms"),
        },
        title="order latency",
        xlabel="concurrent clients",
    )
    _plot(
        throughput,
        clients,
        {
            "orders": _column(figures["orders"], "per_second"),
            "floor": _column(figures["floor"], "per_second"),
        },
        title="throughput",
        xlabel="concurrent clients",
        ylabel="per second",
    )
    written.append(_save(figure, out, "orders_concurrency.png"))
    return written


def gateway(figures: dict[str, Any], out: Path) -> list[str]:
    levels = figures["levels"]
    figure, (latency, ratio) = _figure(2)
    series = {
        f"{path} {statistic}": [level[path][f"{statistic}_ms"] for level in levels.values()]
        for path in ("direct", "gateway")
        for statistic in ("median", "p99")
    }
    clients = _keys(levels)
    _plot(
        latency, clients, series, title=f"GET a product, {figures['size']} in the catalog", xlabel="clients"
    )
    _plot(
        ratio,
        clients,
        {
            "median": [level["ratio"]["median_ms"] for level in levels.values()],
            "p99": [level["ratio"]["p99_ms"] for level in levels.values()],
        },
        title="gateway / direct",
        xlabel="concurrent clients",
        ylabel="x",
    )
    ratio.axhline(1, color="grey", linewidth=0.8)
    return [_save(figure, out, "gateway_concurrency.png")]


def _medians_by_size(axes: Axes, by_size: Mapping[str, Mapping[str, dict[str, float]]], title: str) -> None:
    """One line a request (those measured at every size) of its median against the catalog's size."""
    names = [n for n in next(iter(by_size.values())) if all(n in found for found in by_size.values())]
    series = {name: [found[name]["median_ms"] for found in by_size.values()] for name in names}
    _plot(axes, _keys(by_size), series, title=title, xlabel="products", log=True)
    axes.legend(fontsize="xx-small")


def catalog(figures: dict[str, Any], out: Path) -> list[str]:
    databases = figures["databases"]
    figure, axes = _figure(len(databases))
    for ax, (database, found) in zip(axes, databases.items(), strict=True):
        _medians_by_size(ax, found["sizes"], f"listing median, {database}")
    return [_save(figure, out, "catalog_size.png")]


def search(figures: dict[str, Any], out: Path) -> list[str]:
    figure, (axes,) = _figure()
    by_size = {n: size["scenarios"] for n, size in figures["sizes"].items()}
    _medians_by_size(axes, by_size, "embedded search, median")
    return [_save(figure, out, "search_size.png")]


def engine(figures: dict[str, Any], out: Path) -> list[str]:
    engines = figures["engines"]
    figure, axes = _figure(len(engines))
    for ax, (name, found) in zip(axes, engines.items(), strict=True):
        by_size = {n: size["requests"] for n, size in found["sizes"].items()}
        _medians_by_size(ax, by_size, f"{name} engine's own query, median")
    return [_save(figure, out, "engine_size.png")]


def search_platform(figures: dict[str, Any], out: Path) -> list[str]:
    sizes = figures["sizes"]
    figure, (fresh, api) = _figure(2)
    freshness = {
        "p50": [size["create_to_searchable"]["median_ms"] for size in sizes.values()],
        "p99": [size["create_to_searchable"]["p99_ms"] for size in sizes.values()],
    }
    _plot(
        fresh, _keys(sizes), freshness, title="create-to-searchable, through the gateway", xlabel="products"
    )
    requests = list(next(iter(sizes.values()))["requests"])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    xs = _keys(sizes)
    for n, request in enumerate(requests):
        for side, style in (("api", "-"), ("engine", ":")):
            ys = [size["requests"][request][side]["median_ms"] for size in sizes.values()]
            label = f"{request} ({'API' if side == 'api' else 'engine'})"
            api.plot(xs, ys, marker="o", linestyle=style, color=colors[n % len(colors)], label=label)
    _sizes_axis(api, xs, True)
    api.set(
        title=f"search API against the {figures['engine']} engine, median", xlabel="products", ylabel="ms"
    )
    api.set_ylim(bottom=0)
    api.grid(alpha=0.3)
    api.legend(fontsize="xx-small")
    return [_save(figure, out, "search_platform.png")]


def images(figures: dict[str, Any], out: Path) -> list[str]:
    served = figures["serving"]
    figure, (rate, latency) = _figure(2)
    rate.bar(list(served), [f["per_second"] for f in served.values()], color=["C0", "C1", "C2"])
    rate.set(
        title=f"one {figures['image_bytes'] // 1024} KiB image, {figures['concurrency']} clients",
        ylabel="requests per second",
    )
    for statistic, offset in (("median", -0.2), ("p95", 0.2)):
        latency.bar(
            [n + offset for n in range(len(served))],
            [f[f"{statistic}_ms"] for f in served.values()],
            width=0.4,
            label=statistic,
        )
    latency.set_xticks(range(len(served)), list(served))
    latency.set(title="latency", ylabel="ms")
    latency.legend(fontsize="small")
    return [_save(figure, out, "images.png")]
