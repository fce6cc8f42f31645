"""Figures for the reliability report. A test that counts something the platform promises (trials run,
faults survived, events counted, cases generated, violations found) records it here; the report
(`python -m tests.reliability`) gathers what a run recorded. Outside a report run, recording is a no-op.

Each call appends one JSON line to `<COMMERCE_FIGURES_DIR>/<section>.jsonl`: the report sums the numeric
figures of a section over its lines, so a test may record once per trial or once in total.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FIGURES_DIR = "COMMERCE_FIGURES_DIR"


def record(section: str, **figures: int | float | str) -> None:
    """Add `figures` (name: count) to `section` of the report being written, if one is."""
    folder = os.environ.get(FIGURES_DIR)
    if not folder:
        return
    path = Path(folder) / f"{section}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as lines:
        lines.write(json.dumps(figures, sort_keys=True) + "\n")


def gathered(folder: Path) -> dict[str, dict[str, int | float | str]]:
    """Every section recorded under `folder`: numbers summed over its lines, texts kept from the last."""
    sections: dict[str, dict[str, int | float | str]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        totals: dict[str, int | float | str] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            for name, value in json.loads(line).items():
                previous = totals.get(name, 0)
                if isinstance(value, int | float) and isinstance(previous, int | float):
                    totals[name] = previous + value
                else:
                    totals[name] = value
        sections[path.stem] = totals
    return sections
