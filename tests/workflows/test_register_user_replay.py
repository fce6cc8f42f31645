"""A registration may be under way while a worker is upgraded: today's code must replay the recorded
histories of earlier versions (`record_register_histories.py`): v0 before USER_CREATED carried the user's
language, v1 with it (behind the `user-language` patch).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.register_user import RegisterUserWorkflow

HISTORIES = {
    path.stem: path.read_text()
    for path in sorted((Path(__file__).parent / "histories" / "register_user").glob("*.json"))
}


def test_histories_of_each_version_are_recorded() -> None:
    assert {name.split("-")[0] for name in HISTORIES} >= {"v0", "v1"}


@pytest.mark.parametrize("name", HISTORIES)
async def test_a_recorded_registration_replays_on_the_current_workflow(name: str) -> None:
    history = WorkflowHistory.from_json(name, HISTORIES[name])
    replayer = Replayer(workflows=[RegisterUserWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
