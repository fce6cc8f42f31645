"""The order state machine: every status change goes through `check`, and each one publishes an event."""

from __future__ import annotations

from apis.orders.errors import InvalidTransition
from apis.orders.models import OrderStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.PAID, S.FAILED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.SHIPPED, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}

# What staff may set by hand (`PUT /orders/{id}/status`); the saga owns the others.
STAFF_SETTABLE = frozenset({S.SHIPPED, S.DELIVERED})
CANCELLABLE = frozenset({S.PENDING, S.CONFIRMED, S.PAID})

# The event published for reaching each status (topic `order_events`).
EVENTS: dict[S, str] = {
    S.CONFIRMED: "ORDER_CREATED",
    S.PAID: "ORDER_CREATED",
    S.FAILED: "ORDER_FAILED",
    S.CANCELLED: "ORDER_CANCELLED",
    S.SHIPPED: "ORDER_SHIPPED",
    S.DELIVERED: "ORDER_DELIVERED",
}


def check(current: S, new: S) -> bool:
    """True if `new` is a change to make, False if the order is already there (a retry); raise if illegal."""
    if current == new:
        return False
    if new not in TRANSITIONS[current]:
        raise InvalidTransition(current, new)
    return True
