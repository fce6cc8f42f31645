"""`publish_user_event`: the seed's envelope on `auth_events`, keyed by user, with the id it was given."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from temporalio.testing import ActivityEnvironment

from activities.users import PublishUserEvent, UserActivities
from contracts.auth import AUTH_EVENTS, UserProfile
from kit.bus import Event
from kit.bus.memory import MemoryBus

REQUEST = PublishUserEvent(
    event_id="5f0c8a10-0000-4000-8000-000000000001",
    type="USER_CREATED",
    user=UserProfile(id="user-1", name="Ada", email="ada@example.com", profile_image=None),
    occurred_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
)


class DownBus(MemoryBus):
    async def publish(self, event: Event) -> None:
        raise ConnectionError("broker unreachable")


async def test_the_event_goes_to_auth_events_in_the_seeds_envelope() -> None:
    async with MemoryBus(f"memory://{uuid.uuid4().hex}") as bus:
        returned = await ActivityEnvironment().run(UserActivities(bus).publish_user_event, REQUEST)
        [event] = bus.broker.topic(AUTH_EVENTS).events
    assert returned == event.id == REQUEST.event_id
    assert event.key == "user-1"
    assert event.model_dump(mode="json", by_alias=True) == {
        "id": REQUEST.event_id,
        "type": "USER_CREATED",
        "payload": {
            "id": "user-1",
            "name": "Ada",
            "email": "ada@example.com",
            "profileImage": None,
            "language": None,
        },
        "timestamp": "2025-01-02T03:04:05Z",
        "sourceService": "auth",
    }


async def test_a_retried_publication_repeats_the_same_event() -> None:
    async with MemoryBus(f"memory://{uuid.uuid4().hex}") as bus:
        activities = UserActivities(bus)
        for _ in range(2):
            await ActivityEnvironment().run(activities.publish_user_event, REQUEST)
        first, second = bus.broker.topic(AUTH_EVENTS).events
    assert first == second  # consumers drop the second by its id


async def test_a_bus_failure_fails_the_activity_so_that_temporal_retries_it() -> None:
    async with DownBus(f"memory://{uuid.uuid4().hex}") as bus:
        with pytest.raises(ConnectionError):
            await ActivityEnvironment().run(UserActivities(bus).publish_user_event, REQUEST)
