"""The benchmark command (`python -m bench`): one quick bench through it writes its figures, a summary and
the charts that summary shows. Asserts the shape of what is written, never a speed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from bench import __main__ as command
from bench import search_engine, stats


def test_a_quick_run_writes_results_a_summary_and_its_charts(tmp_path: Path) -> None:
    assert command.main(["--quick", "--only", "engine", "--out", str(tmp_path)]) == 0

    results = json.loads((tmp_path / "results.json").read_text())
    assert {"started", "finished", "command", "quick", "machine", "benches"} <= results.keys()
    assert results["quick"] is True
    assert results["command"] == f"python -m bench --quick --only engine --out {tmp_path}"
    assert {"cores", "memory_mib", "load_average", "load_average_after", "commit"} <= results[
        "machine"
    ].keys()
    assert list(results["benches"]) == ["engine"]
    embedded = results["benches"]["engine"]["engines"]["embedded"]
    assert list(embedded["sizes"]) == ["100", "500"]
    for size in embedded["sizes"].values():
        assert size["requests"].keys() == search_engine.REQUESTS.keys()
        for figures in size["requests"].values():
            assert figures["count"] == 10
            assert 0 < figures["median_ms"] <= figures["p95_ms"] <= figures["p99_ms"]

    summary = (tmp_path / "summary.md").read_text()
    assert "## engine:" in summary
    assert "| engine | embedded engine's own query, a text search with facets, median |" in summary
    assert "| text q=shoe, facets, 24 a page (typical) |" in summary
    pictures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", summary)
    assert pictures == ["engine_size.png"]
    for name in pictures:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_bench_that_fails_is_recorded_and_the_command_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(quick: bool, progress: stats.Progress) -> dict[str, object]:
        raise RuntimeError("the engine is down")

    bench = command.BENCHES["engine"]
    monkeypatch.setitem(command.BENCHES, "engine", dataclasses.replace(bench, run=broken))
    assert command.main(["--quick", "--only", "engine", "--out", str(tmp_path)]) == 1

    failure = json.loads((tmp_path / "results.json").read_text())["benches"]["engine"]
    assert failure["error"] == "RuntimeError: the engine is down"
    assert "Failed after" in (tmp_path / "summary.md").read_text()


def test_an_unknown_bench_is_refused_with_the_names_to_choose_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        command.main(["--only", "engine,nope"])
    assert refused.value.code == 2
    assert "unknown bench nope; choose among orders, gateway" in capsys.readouterr().err
