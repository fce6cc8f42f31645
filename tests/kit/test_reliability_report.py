"""The reliability report: the totals of what must stay 0; a run that recorded nothing is not clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.figures import FIGURES_DIR, record
from tests.reliability import SUITES, main, report


def test_the_report_runs_each_suite_once() -> None:
    """pytest collects a path named twice once (unless --keep-duplicates): name each once, and only files
    that exist, so the list says what the report runs.
    """
    root = Path(__file__).resolve().parents[2]
    twice = sorted({suite for suite in SUITES if SUITES.count(suite) > 1})
    assert not twice, f"named twice: {twice}"
    assert all((root / suite).is_file() for suite in SUITES), SUITES


def test_a_run_is_clean_only_when_every_must_be_zero_figure_is_zero() -> None:
    clean = report({"rounds": {"rounds": 3, "oversold": 0}, "fuzz": {"cases": 10, "server_errors": 0}})
    dirty = report({"rounds": {"rounds": 3, "oversold": 1}, "faults.redis": {"lost": 2}})

    assert clean["clean"] is True
    assert (dirty["clean"], dirty["mustBeZero"]["oversold"], dirty["mustBeZero"]["lost"]) == (False, 1, 2)
    assert report({})["clean"] is False


def test_a_fault_trial_that_broke_off_makes_the_run_unclean() -> None:
    """A trial that raised before its checks recorded its figures is `unfinished`: 19 of 19 survived out
    of 20 run must not read as clean."""
    broken = report({"faults.postgres": {"trials": 20, "survived": 19, "unfinished": 1}})

    assert (broken["clean"], broken["mustBeZero"]["unfinished"]) == (False, 1)


def test_the_gathered_figures_are_printed_and_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(FIGURES_DIR, str(tmp_path / "figures"))
    record("rounds", rounds=1, oversold=0, stuck=0)
    record("rounds", rounds=1, oversold=0, stuck=1)

    status = main(["--gathered", str(tmp_path / "figures"), "--json", str(tmp_path / "report.json")])

    written = json.loads((tmp_path / "report.json").read_text())
    assert (status, written["sections"]["rounds"]["rounds"], written["mustBeZero"]["stuck"]) == (1, 2, 1)
    assert "NOT CLEAN" in capsys.readouterr().out
