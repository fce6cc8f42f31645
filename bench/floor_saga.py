"""The engine's floor for the order saga: a workflow running the same number of activities, doing nothing."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop(step: int) -> int:
    return step


@workflow.defn(name="FloorSagaWorkflow")
class FloorSagaWorkflow:
    @workflow.run
    async def run(self, activities: int) -> int:
        for step in range(activities):
            await workflow.execute_activity(noop, step, start_to_close_timeout=timedelta(seconds=10))
        return activities
