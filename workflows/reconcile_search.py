"""Search reconcile: a Temporal Schedule (`schedule_id`, one per catalog queue) runs this workflow every hour;
it has the search service compare its index with the catalog (ids and update times), repair the drift and
report what it fixed (the workflow's result, in the schedule's recent actions).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.search import ReconcileSearchResult, SearchActivities

WORKFLOW = "ReconcileSearchWorkflow"
EVERY = timedelta(hours=1)
RECONCILE_TIMEOUT = timedelta(minutes=30)  # one pass over the whole catalog
RECONCILE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5), maximum_attempts=5
)


def schedule_id(task_queue: str) -> str:
    """Also the id of its runs, to which the schedule appends each run's time."""
    return f"search-reconcile-{task_queue}"


def schedule(task_queue: str) -> Schedule:
    """Every `EVERY`, one run at a time (a run still going when the next is due skips it)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(WORKFLOW, id=schedule_id(task_queue), task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


@workflow.defn(name=WORKFLOW)
class ReconcileSearchWorkflow:
    @workflow.run
    async def run(self) -> ReconcileSearchResult:
        return await workflow.execute_activity_method(
            SearchActivities.reconcile_search,
            start_to_close_timeout=RECONCILE_TIMEOUT,
            retry_policy=RECONCILE_RETRY,
        )
