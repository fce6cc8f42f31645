"""The auth service's seam: what it publishes on `auth_events` (key: the user id), in the seed's shapes.

`USER_CREATED` comes from the registration workflow; `USER_UPDATED`, `USER_DELETED` and `USER_INVITED` are
recorded in the outbox with the change that causes them. Invitation tokens are never published.

Each envelope carries the user's `version`, so a consumer keeps the newest copy whatever order events
arrive in (a late or replayed one is dropped): the microsecond at which the event was recorded, inside the
transaction of its change, as `updated_at` is; versions grow as long as the auth service's clock does not
step back by more than the time between two changes of one user. `USER_CREATED` has none: it is the first
state of a user by definition, older than any other (the registration workflow may publish it after a quick
profile edit).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from kit.bus import Event

SERVICE = "auth"
AUTH_EVENTS = "auth_events"

USER_CREATED = "USER_CREATED"
USER_UPDATED = "USER_UPDATED"
USER_DELETED = "USER_DELETED"
USER_INVITED = "USER_INVITED"


# The languages a user may choose (kit.localisation.LANGUAGES): their mails are written in it.
Language = Literal["en", "fr", "ar"]


class UserProfile(BaseModel):
    """The payload of USER_CREATED, USER_UPDATED and USER_INVITED: `{id, name, email, profileImage,
    language}` (`language` is ours: null in an event published before users had one).
    """

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    id: str
    name: str
    email: str
    profile_image: str | None = None
    language: Language | None = None


def user_event(
    event_type: str,
    user_id: str,
    payload: dict[str, Any],
    *,
    event_id: str | None = None,
    timestamp: datetime | None = None,
) -> Event:
    """The envelope of one user event; a fixed `event_id` makes a republished event recognisable."""
    moment = timestamp or datetime.now(UTC)
    return Event(
        id=event_id or str(uuid.uuid4()),
        timestamp=moment,
        version=None if event_type == USER_CREATED else version_at(moment),
        type=event_type,
        payload=payload,
        source_service=SERVICE,
        topic=AUTH_EVENTS,
        key=user_id,
    )


_last_version = 0


def version_at(moment: datetime) -> int:
    """Microseconds since the epoch, and above any version this process gave before (same microsecond)."""
    global _last_version
    _last_version = max(int(moment.timestamp() * 1_000_000), _last_version + 1)
    return _last_version


def user_changed(event_type: str, profile: UserProfile) -> Event:
    return user_event(event_type, profile.id, profile.model_dump(mode="json", by_alias=True))


def user_deleted(user_id: str) -> Event:
    return user_event(USER_DELETED, user_id, {"id": user_id})
