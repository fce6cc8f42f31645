"""Product sync workflows run for as long as a burst of edits lasts, and a worker may be upgraded meanwhile:
today's code must replay the recorded histories of earlier versions (`record_sync_histories.py`): v0
before the search index followed publications, v1 before the first change was indexed at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.sync_product import SyncProductBatchWorkflow, SyncProductWorkflow

HISTORIES = {
    path.stem: path.read_text()
    for path in sorted((Path(__file__).parent / "histories" / "sync_product").glob("*.json"))
}


def test_histories_of_each_version_are_recorded() -> None:
    assert {name.split("-")[0] for name in HISTORIES} >= {"v0", "v1"}


@pytest.mark.parametrize("name", HISTORIES)
async def test_a_recorded_sync_history_replays_on_the_current_workflows(name: str) -> None:
    history = WorkflowHistory.from_json(name, HISTORIES[name])
    replayer = Replayer(
        workflows=[SyncProductWorkflow, SyncProductBatchWorkflow], data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(history)
