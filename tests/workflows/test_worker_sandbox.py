"""Every worker runs its workflows in the shared sandbox runner (`kit.temporal.WORKFLOW_RUNNER`, modules
passed through), and the recorded histories replay in it as in the default sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from kit.infra import open_infra
from kit.temporal import WORKFLOW_RUNNER
from tests.support import embedded_settings
from workers import catalog, orders, users
from workflows.place_order import PlaceOrderWorkflow
from workflows.sync_product import SyncProductBatchWorkflow, SyncProductWorkflow

LATEST = {path.stem: path.read_text() for path in sorted(Path(__file__).parent.glob("histories/*/v2-*.json"))}


async def test_every_worker_uses_the_shared_runner(tmp_path: Path, temporal_address: str) -> None:
    temporal = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    async with open_infra(embedded_settings(tmp_path, temporal_address=temporal_address)) as infra:
        for module in (catalog, orders, users):
            assert module.build_worker(temporal, infra).config()["workflow_runner"] is WORKFLOW_RUNNER


@pytest.mark.parametrize("name", LATEST)
async def test_the_latest_histories_replay_in_the_shared_runner(name: str) -> None:
    replayer = Replayer(
        workflows=[PlaceOrderWorkflow, SyncProductWorkflow, SyncProductBatchWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=WORKFLOW_RUNNER,
    )
    await replayer.replay_workflow(WorkflowHistory.from_json(name, LATEST[name]))
