"""The registration workflow: started through the auth service's outbox once the new user is committed, it
announces the user with `USER_CREATED`, retrying until the bus takes it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ConfigDict

    from activities.users import PublishUserEvent, UserActivities
    from contracts.auth import USER_CREATED, Language, UserProfile
    from kit.outbox import WorkflowStart

WORKFLOW = "RegisterUserWorkflow"
TASK_QUEUE = "users"

# From this patch on, USER_CREATED carries the user's language (histories before it replay without).
LANGUAGE_PATCH = "user-language"

# Event ids derive from the workflow id: a retried activity, or a rerun of the workflow, repeats the event.
EVENT_NAMESPACE = uuid.UUID("6f1c7f0e-4c55-4f57-9a43-2f5d1f0c8a10")

PUBLISH_TIMEOUT = timedelta(seconds=30)
# The bus may be down for a while: retry for as long as it takes, backing off to one try a minute.
UNTIL_ACCEPTED = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,
)


def workflow_id(user_id: str) -> str:
    return f"register-user-{user_id}"


class RegisterUserInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    name: str
    email: str
    profile_image: str | None = None
    language: Language | None = None  # absent from the registrations started before users had one


class RegisterUserResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str


def start(user: RegisterUserInput) -> WorkflowStart:
    """The registration of `user`, to start through the outbox with the commit that creates the user."""
    return WorkflowStart(
        workflow=WORKFLOW,
        id=workflow_id(user.user_id),
        task_queue=TASK_QUEUE,
        args=[user.model_dump(mode="json")],
    )


@workflow.defn(name=WORKFLOW)
class RegisterUserWorkflow:
    @workflow.run
    async def run(self, data: RegisterUserInput) -> RegisterUserResult:
        event_id = await self._announce(data)
        return RegisterUserResult(event_id=event_id)

    async def _announce(self, data: RegisterUserInput) -> str:
        """USER_CREATED with the seed's payload `{id, name, email, profileImage}` and the user's language."""
        language = data.language if workflow.patched(LANGUAGE_PATCH) else None
        user = UserProfile(
            id=data.user_id,
            name=data.name,
            email=data.email,
            profile_image=data.profile_image,
            language=language,
        )
        event_id = uuid.uuid5(EVENT_NAMESPACE, f"{workflow.info().workflow_id}/{USER_CREATED}")
        return await workflow.execute_activity_method(
            UserActivities.publish_user_event,
            PublishUserEvent(
                event_id=str(event_id), type=USER_CREATED, user=user, occurred_at=workflow.now()
            ),
            start_to_close_timeout=PUBLISH_TIMEOUT,
            retry_policy=UNTIL_ACCEPTED,
        )
