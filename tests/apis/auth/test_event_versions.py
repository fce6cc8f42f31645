"""Auth's events carry the user's version, so consumers can drop a late one."""

from __future__ import annotations

from contracts import auth as events
from kit.bus import Event


def test_each_user_change_is_stamped_with_a_growing_version() -> None:
    profile = events.UserProfile(id="u1", name="A", email="a@example.com")
    created = events.user_changed(events.USER_CREATED, profile)
    changes = [events.user_changed(events.USER_UPDATED, profile) for _ in range(50)]
    deleted = events.user_deleted("u1")
    versions = [e.version or 0 for e in [*changes, deleted]]
    assert created.version is None  # the first state of a user: older than any other
    assert all(versions)
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)


def test_the_version_travels_in_the_envelope_and_is_absent_when_unset() -> None:
    updated = events.user_changed(events.USER_UPDATED, events.UserProfile(id="u1", name="A", email="a@x.io"))
    assert Event.from_wire(updated.topic, updated.key, updated.to_wire()).version == updated.version
    assert "version" not in events.user_deleted("u1").model_copy(update={"version": None}).model_dump()
