"""Orders stay open up to 30 days: today's code must replay every recorded history of earlier versions.

A change to the workflow's commands that is not behind `workflow.patched(...)` fails here. The
histories come from `python -m tests.workflows.record_histories <version>` (see its docstring).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.place_order import PlaceOrderWorkflow

HISTORIES = {
    path.stem: path.read_text()
    for path in sorted((Path(__file__).parent / "histories" / "place_order").glob("*.json"))
}


def test_histories_of_the_open_and_closed_orders_are_recorded() -> None:
    assert len(HISTORIES) >= 10


@pytest.mark.parametrize("name", HISTORIES)
async def test_a_recorded_order_history_replays_on_the_current_workflow(name: str) -> None:
    history = WorkflowHistory.from_json(f"order-{name}", HISTORIES[name])
    replayer = Replayer(workflows=[PlaceOrderWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
