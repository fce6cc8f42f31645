"""Activities of the user flows: putting user events on the bus (retried by Temporal until it accepts)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity

from contracts import auth
from kit.bus import EventBus


class PublishUserEvent(BaseModel):
    """One user event; `event_id` is fixed by the workflow, so a retried publication is the same event."""

    event_id: str
    type: str
    user: auth.UserProfile
    occurred_at: datetime


class UserActivities:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    @activity.defn(name="publish_user_event")
    async def publish_user_event(self, request: PublishUserEvent) -> str:
        """Publish on `auth_events` keyed by the user id; a bus failure raises, and Temporal retries."""
        event = auth.user_event(
            request.type,
            request.user.id,
            request.user.model_dump(mode="json", by_alias=True),
            event_id=request.event_id,
            timestamp=request.occurred_at,
        )
        await self._bus.publish(event)
        return event.id
