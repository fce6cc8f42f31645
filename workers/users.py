"""The worker of the `users` task queue (registration): `commerce worker users`."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.users import UserActivities
from kit.infra import Infra
from kit.temporal import WORKFLOW_RUNNER
from workflows import register_user


def build_worker(client: Client, infra: Infra) -> Worker:
    activities = UserActivities(infra.bus)
    return Worker(
        client,
        workflow_runner=WORKFLOW_RUNNER,
        task_queue=register_user.TASK_QUEUE,
        workflows=[register_user.RegisterUserWorkflow],
        activities=[activities.publish_user_event],
    )
