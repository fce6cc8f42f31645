"""The seed's 160 users by scenario, shared by the runner and the locustfile (which the runner never imports:
Locust patches the process for gevent)."""

from __future__ import annotations

SEED_USERS = {"window_shoppers": 100, "mission_customers": 10, "guest_buyers": 25, "registered_buyers": 25}


def users_of(scenario: str, scale: float) -> int:
    """The users of `scenario` at `scale` x the seed's, at least one."""
    return max(1, round(SEED_USERS[scenario] * scale))
