"""The orders service's pure rules: the state machines (`contracts.orders.TRANSITIONS`, `RETURN_TRANSITIONS`),
and who may see and act on an order and its returns.

Every status change goes through `check` and a conditional update (see `service.transition`), and each one
publishes an event.

A cancellation first wins the order (`PENDING|CONFIRMED|PAID -> CANCELLING`), so fulfilment cannot
overtake it; the saga then gives back stock and money and writes CANCELLED (or FAILED, when the saga was
failing anyway). An order that shipped is no longer cancellable.
"""

from __future__ import annotations

import hashlib
import hmac

from apis.orders.errors import InvalidReturnTransition, InvalidTransition, OrderCancelling
from apis.orders.models import Order
from contracts import orders as contract
from contracts import scopes
from contracts.orders import RETURN_TRANSITIONS, TRANSITIONS, ReturnStatus
from contracts.orders import OrderStatus as S
from kit.auth.principal import Principal

# What staff may set by hand (`PUT /orders/{id}/status`); the saga owns the others.
STAFF_SETTABLE = frozenset({S.SHIPPED, S.DELIVERED})
CANCELLABLE = frozenset({S.PENDING, S.CONFIRMED, S.PAID})

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


# Who may see and act on an order: its customer, its guest (by token), staff, and services.
def hash_token(token: str) -> str:
    """Guest tokens are stored hashed: the database never holds a usable one."""
    return hashlib.sha256(token.encode()).hexdigest()


def guest_token_matches(order: Order, token: str | None) -> bool:
    return bool(
        token and order.guest_token_hash and hmac.compare_digest(order.guest_token_hash, hash_token(token))
    )


def may_read(order: Order, caller: Principal | None, guest_token: str | None = None) -> bool:
    if caller is not None and (
        caller.has_scope(scopes.REPORT_ORDER_STATUS) or caller.can("read:order") or caller.id == order.user_id
    ):
        return True
    return order.user_id is None and guest_token_matches(order, guest_token)


def may_cancel(order: Order, caller: Principal | None, guest_token: str | None = None) -> bool:
    if caller is not None and (
        caller.has_scope(scopes.REPORT_ORDER_STATUS)
        or caller.can("update:order")
        or caller.id == order.user_id
    ):
        return True
    return order.user_id is None and guest_token_matches(order, guest_token)


def may_return(order: Order, caller: Principal | None, guest_token: str | None = None) -> bool:
    """Only the order's own customer (or its guest, by token) asks to return it."""
    if caller is not None and not caller.is_service and caller.id == order.user_id:
        return True
    return order.user_id is None and guest_token_matches(order, guest_token)


def may_read_return(order: Order, caller: Principal | None, guest_token: str | None = None) -> bool:
    return may_return(order, caller, guest_token) or (
        caller is not None and caller.can(contract.READ_RETURNS)
    )


def check_return(current: ReturnStatus, new: ReturnStatus) -> bool:
    """True if `new` is a change to make, False for a repeat of the status it has; raise if illegal."""
    if current == new:
        return False
    if new not in RETURN_TRANSITIONS[current]:
        raise InvalidReturnTransition(current, new)
    return True
