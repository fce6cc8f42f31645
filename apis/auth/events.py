"""What the auth service publishes on `auth_events` (key: the user id), in the seed's shapes.

`USER_CREATED` comes from the registration workflow; `USER_UPDATED`, `USER_DELETED` and `USER_INVITED` are
recorded in the outbox with the change that causes them. Invitation tokens are never published.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from kit.bus import Event

TOPIC = "auth_events"
SOURCE_SERVICE = "auth"

USER_CREATED = "USER_CREATED"
USER_UPDATED = "USER_UPDATED"
USER_DELETED = "USER_DELETED"
USER_INVITED = "USER_INVITED"


class UserProfile(BaseModel):
    """The payload of USER_CREATED, USER_UPDATED and USER_INVITED: `{id, name, email, profileImage}`."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    id: str
    name: str
    email: str
    profile_image: str | None = None


def user_event(
    event_type: str,
    user_id: str,
    payload: dict[str, Any],
    *,
    event_id: str | None = None,
    timestamp: datetime | None = None,
) -> Event:
    """The envelope of one user event; a fixed `event_id` makes a republished event recognisable."""
    fields: dict[str, Any] = {"id": event_id, "timestamp": timestamp}
    return Event(
        type=event_type,
        payload=payload,
        source_service=SOURCE_SERVICE,
        topic=TOPIC,
        key=user_id,
        **{name: value for name, value in fields.items() if value is not None},
    )


def user_changed(event_type: str, profile: UserProfile) -> Event:
    return user_event(event_type, profile.id, profile.model_dump(mode="json", by_alias=True))


def user_deleted(user_id: str) -> Event:
    return user_event(USER_DELETED, user_id, {"id": user_id})
