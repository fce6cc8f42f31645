"""The figures every bench reports from its samples, computed one way so that their tables compare."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank `share` quantile (0.99: the 99th percentile) of `samples`."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def latency(samples_ms: Sequence[float]) -> dict[str, float]:
    """Median, p95 and p99 of latencies in milliseconds, and how many there were."""
    return {
        "median_ms": statistics.median(samples_ms),
        "p95_ms": percentile(samples_ms, 0.95),
        "p99_ms": percentile(samples_ms, 0.99),
        "count": len(samples_ms),
    }


def ratio(a: dict[str, float], b: dict[str, float], *keys: str) -> dict[str, float]:
    """`a / b` for each of `keys` (figures of two runs side by side)."""
    return {key: a[key] / b[key] for key in keys}


Progress = Callable[[str], None]
"""Told the step a bench starts ("100k products"), for the benchmark command's progress bar."""


def quiet(step: str) -> None:
    """The progress of a bench run on its own: its report comes at the end."""
