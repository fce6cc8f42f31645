"""The order state machine: every status change goes through `check` and a conditional update (see
`service.transition`), and each one publishes an event.

A cancellation first wins the order (`PENDING|CONFIRMED|PAID -> CANCELLING`), so fulfilment cannot
overtake it; the saga then gives back stock and money and writes CANCELLED (or FAILED, when the saga was
failing anyway). An order that shipped is no longer cancellable.
"""

from __future__ import annotations

from apis.orders.errors import InvalidTransition, OrderCancelling
from contracts import orders as contract
from contracts.orders import OrderStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.PAID, S.FAILED, S.CANCELLING}),
    S.CONFIRMED: frozenset({S.SHIPPED, S.CANCELLING}),
    S.PAID: frozenset({S.SHIPPED, S.CANCELLING}),
    S.CANCELLING: frozenset({S.CANCELLED, S.FAILED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}

# What staff may set by hand (`PUT /orders/{id}/status`); the saga owns the others.
STAFF_SETTABLE = frozenset({S.SHIPPED, S.DELIVERED})
CANCELLABLE = frozenset({S.PENDING, S.CONFIRMED, S.PAID})
FINAL = frozenset({S.DELIVERED, S.FAILED, S.CANCELLED})

# The event published for reaching each status (topic `order_events`); CANCELLING publishes nothing,
# its outcome (ORDER_CANCELLED) does.
EVENTS: dict[S, str] = {
    S.CONFIRMED: contract.ORDER_CREATED,
    S.PAID: contract.ORDER_CREATED,
    S.FAILED: contract.ORDER_FAILED,
    S.CANCELLED: contract.ORDER_CANCELLED,
    S.SHIPPED: contract.ORDER_SHIPPED,
    S.DELIVERED: contract.ORDER_DELIVERED,
}


def check(current: S, new: S, *, repeat_ok: bool = True) -> bool:
    """True if `new` is a change to make, False if the order is already there and `repeat_ok` (a saga
    retry); raise if illegal, `OrderCancelling` when a cancellation has won the order first.
    """
    if current == new and repeat_ok:
        return False
    if new in TRANSITIONS[current]:
        return True
    if current == S.CANCELLING and new in (S.CONFIRMED, S.PAID):
        raise OrderCancelling()
    raise InvalidTransition(current, new)
