"""The reliability report's figures: recorded per section, summed over a run, nothing written outside one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.figures import FIGURES_DIR, gathered, record


def test_figures_are_summed_per_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FIGURES_DIR, str(tmp_path))
    record("faults", trials=1, survived=1, fault="kafka")
    record("faults", trials=1, survived=0, fault="redis")
    record("fuzz", cases=100)

    assert gathered(tmp_path) == {
        "faults": {"trials": 2, "survived": 1, "fault": "redis"},
        "fuzz": {"cases": 100},
    }


def test_nothing_is_written_outside_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FIGURES_DIR, raising=False)
    monkeypatch.chdir(tmp_path)
    record("faults", trials=1)

    assert list(tmp_path.iterdir()) == []
