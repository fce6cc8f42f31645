"""The reliability report: run the suites that try to break the platform (faults, concurrency rounds,
bad input, the authorization matrix, the end-to-end scenarios), then print the figures they recorded
(`tests/figures.py`) and write them as JSON.

    python -m tests.reliability                 # CI's bounded sizes
    python -m tests.reliability --full          # the issue's sizes: 20 trials a fault, 100 cases an operation
    python -m tests.reliability --gathered DIR  # only report what a run recorded (`tests/run` does this)

The suites need the real servers: `eval "$(deploy/local/infra env)"` first. Exits 1 when a suite failed
or a figure that must stay 0 (lost, duplicated, oversold, stuck, violations, 5xx...) is not 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.figures import FIGURES_DIR, gathered

SUITES = [
    "tests/e2e/test_faults.py",
    "tests/e2e/test_concurrency_rounds.py",
    "tests/e2e/test_worker_crash.py",
    "tests/test_fuzz.py",
    "tests/test_nasty_input.py",
    "tests/apis/test_authorization_matrix.py",
]
FULL_SIZES = {"COMMERCE_ROUNDS": "20", "COMMERCE_FAULT_TRIALS": "20", "COMMERCE_FUZZ_EXAMPLES": "100"}
MUST_BE_ZERO = (
    "lost",
    "duplicated",
    "oversold",
    "stuck",
    "unfinished",
    "violations",
    "server_errors",
    "ledger_mismatches",
    "wrong_answers",
    "undocumented_statuses",
    "schema_mismatches",
    "errors_without_message",
    "internal_reached",
)


def report(sections: dict[str, dict[str, int | float | str]]) -> dict[str, Any]:
    """The figures of a run, with the totals of every must-be-zero figure across its sections."""
    totals = {
        name: sum(v for figures in sections.values() if isinstance(v := figures.get(name, 0), int | float))
        for name in MUST_BE_ZERO
    }
    return {"sections": sections, "mustBeZero": totals, "clean": bool(sections) and not any(totals.values())}


def printed(figures: dict[str, Any]) -> str:
    """The report as a terminal reads it: one line per section, then the totals that must be 0."""
    sections = figures["sections"]
    assert isinstance(sections, dict)
    lines = [
        f"{name:<28} " + "  ".join(f"{k}={v}" for k, v in sorted(s.items())) for name, s in sections.items()
    ]
    totals = figures["mustBeZero"]
    assert isinstance(totals, dict)
    lines.append("must be 0: " + "  ".join(f"{k}={v}" for k, v in totals.items()))
    lines.append("clean" if figures["clean"] else "NOT CLEAN")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description="the reliability report")
    parser.add_argument("--full", action="store_true", help="the issue's sizes (long)")
    parser.add_argument("--gathered", type=Path, help="report what a run recorded in this folder")
    parser.add_argument("--json", type=Path, default=Path(".commerce/reliability.json"), help="written here")
    args, pytest_args = parser.parse_known_args(argv)

    started = time.monotonic()
    status = 0
    if args.gathered is None:
        folder = Path(tempfile.mkdtemp(prefix="figures-"))
        env = {**os.environ, FIGURES_DIR: str(folder), **(FULL_SIZES if args.full else {})}
        command = [sys.executable, "-m", "pytest", "-q", *SUITES, *pytest_args]
        status = subprocess.run(command, env=env, check=False).returncode
    else:
        folder = args.gathered
    figures = report(gathered(folder)) | {
        "mode": "gathered" if args.gathered else ("full" if args.full else "bounded"),
        "suitesPassed": status == 0,
        "seconds": round(time.monotonic() - started, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(printed(figures))
    print(f"written to {args.json}")
    return 0 if status == 0 and figures["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
