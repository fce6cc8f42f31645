"""The registration workflow: started through the auth service's outbox once the new user is committed, it
announces the user with `USER_CREATED`, retrying until the bus takes it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.users import PublishUserEvent, UserActivities
    from apis.auth.events import USER_CREATED, UserProfile

WORKFLOW = "RegisterUserWorkflow"
TASK_QUEUE = "users"

# Event ids derive from the workflow id: a retried activity, or a rerun of the workflow, repeats the event.
EVENT_NAMESPACE = uuid.UUID("6f1c7f0e-4c55-4f57-9a43-2f5d1f0c8a10")

# The bus may be down for a while: retry for as long as it takes, backing off to one try a minute.
UNTIL_ACCEPTED = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,
)


def workflow_id(user_id: str) -> str:
    return f"register-user-{user_id}"


@dataclass(frozen=True)
class RegisterUserInput:
    user_id: str
    name: str
    email: str
    profile_image: str | None = None


@dataclass(frozen=True)
class RegisterUserResult:
    event_id: str


@workflow.defn(name=WORKFLOW)
class RegisterUserWorkflow:
    @workflow.run
    async def run(self, data: RegisterUserInput) -> RegisterUserResult:
        event_id = await self._announce(data)
        return RegisterUserResult(event_id=event_id)

    async def _announce(self, data: RegisterUserInput) -> str:
        """USER_CREATED with the seed's payload `{id, name, email, profileImage}`."""
        user = UserProfile(
            id=data.user_id, name=data.name, email=data.email, profile_image=data.profile_image
        )
        event_id = uuid.uuid5(EVENT_NAMESPACE, f"{workflow.info().workflow_id}/{USER_CREATED}")
        return await workflow.execute_activity_method(
            UserActivities.publish_user_event,
            PublishUserEvent(
                event_id=str(event_id), type=USER_CREATED, user=user, occurred_at=workflow.now()
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=UNTIL_ACCEPTED,
        )
