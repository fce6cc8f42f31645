"""The search reconcile on a real Temporal server: the catalog worker creates its schedule once, and each run
reports what the search service repaired.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio import activity
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, ScheduleActionStartWorkflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.search import ReconcileSearchResult
from kit.infra import open_infra
from tests.support import embedded_settings, eventually
from workers.catalog import prepare
from workflows import reconcile_search

REPAIRED = ReconcileSearchResult(missing=2, stale=1, deleted=3)


@activity.defn(name="reconcile_search")
async def reconcile_search_activity() -> ReconcileSearchResult:
    return REPAIRED


async def test_the_worker_schedules_the_reconcile_once_and_a_run_reports_the_repairs(
    tmp_path: Path, temporal_address: str
) -> None:
    queue = f"catalog-{uuid.uuid4().hex}"
    settings = embedded_settings(tmp_path, temporal_address=temporal_address, catalog_task_queue=queue)
    temporal = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    async with open_infra(settings) as infra:
        await prepare(temporal, infra)
        await prepare(temporal, infra)  # a second worker start finds it there
    handle = temporal.get_schedule_handle(reconcile_search.schedule_id(queue))
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == (reconcile_search.WORKFLOW, queue)
        assert described.schedule.spec.intervals[0].every == reconcile_search.EVERY
        async with Worker(
            temporal,
            task_queue=queue,
            workflows=[reconcile_search.ReconcileSearchWorkflow],
            activities=[reconcile_search_activity],
        ):
            await handle.trigger()

            async def ran() -> bool:
                return bool((await handle.describe()).info.recent_actions)

            await eventually(ran, within=20, interval=0.2)
            [run] = (await handle.describe()).info.recent_actions
            assert isinstance(run.action, ScheduleActionExecutionStartWorkflow)
            result = await temporal.get_workflow_handle(run.action.workflow_id).result()
        assert ReconcileSearchResult.model_validate(result) == REPAIRED
    finally:
        await handle.delete()
