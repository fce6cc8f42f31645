"""Who may see and act on an order: its customer, its guest (by token), staff, and services."""

from __future__ import annotations

import hashlib
import hmac

from apis.orders.models import Order
from kit.auth.principal import Principal


def hash_token(token: str) -> str:
    """Guest tokens are stored hashed: the database never holds a usable one."""
    return hashlib.sha256(token.encode()).hexdigest()


def guest_token_matches(order: Order, token: str | None) -> bool:
    return bool(
        token and order.guest_token_hash and hmac.compare_digest(order.guest_token_hash, hash_token(token))
    )


def may_read(order: Order, caller: Principal | None, guest_token: str | None = None) -> bool:
    if caller is not None and (caller.is_service or caller.can("read:order") or caller.id == order.user_id):
        return True
    return order.user_id is None and guest_token_matches(order, guest_token)


def may_cancel(order: Order, caller: Principal | None, guest_token: str | None = None) -> bool:
    if caller is not None and (caller.is_service or caller.can("update:order") or caller.id == order.user_id):
        return True
    return order.user_id is None and guest_token_matches(order, guest_token)
