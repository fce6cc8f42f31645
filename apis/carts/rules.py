"""The carts service's pure rules: who may use a cart, and how much of a variant a line may hold."""

from __future__ import annotations

from apis.carts.errors import QuantityTooLarge
from apis.carts.models import Cart
from contracts import scopes
from contracts.products import InsufficientStock, Variant
from kit.auth.principal import Principal

MAX_LINE_QUANTITY = 99
# Acting on another user's cart acts on that user's account: administrators hold it, and any role given it.
ANY_CART = "write:user"

Caller = Principal | None


def may_use(cart: Cart, caller: Caller) -> bool:
    """Guest carts are open to whoever holds their unguessable id; a user's to that user, to callers holding
    `ANY_CART`, and to services allowed to (the order saga empties an ordered cart).
    """
    if cart.user_id is None:
        return True
    if caller is None:
        return False
    return caller.id == cart.user_id or caller.can(ANY_CART) or caller.has_scope(scopes.USE_ANY_CART)


def owner_of_new_cart(caller: Caller) -> str | None:
    return None if caller is None or caller.is_service else caller.id


def check_quantity(variant: Variant, quantity: int) -> None:
    if quantity > MAX_LINE_QUANTITY:
        raise QuantityTooLarge(quantity, MAX_LINE_QUANTITY)
    if quantity > variant.stock_quantity:
        raise InsufficientStock(variant.id, quantity, variant.stock_quantity)
