"""Cart changes: catalog prices and stock, atomic updates, and the guest-to-user merge (who may use a cart,
and how much of a variant: `rules`).

Every change is one optimistic read-modify-write of the cart's key (`kit.cache.update`), so concurrent
requests on one cart never lose each other's changes. Carts live 7 days after their last use.
"""

from __future__ import annotations

from collections.abc import Callable

from apis.carts import rules
from apis.carts.errors import CartNotFound, ItemNotFound
from apis.carts.models import Cart, CartItem
from contracts.products import ProductsClient, Variant
from kit.auth.principal import Principal
from kit.cache import Cache, update
from kit.db import new_id, now

CART_TTL = 7 * 24 * 3600

Caller = rules.Caller


def cart_key(cart_id: str) -> str:
    return f"cart:{cart_id}"


def user_key(user_id: str) -> str:
    return f"user-cart:{user_id}"


async def load(cache: Cache, cart_id: str, caller: Caller) -> Cart | None:
    """The cart (its expiry pushed out), None if absent; someone else's cart is reported absent too."""
    data = await cache.get(cart_key(cart_id), ttl=CART_TTL)
    if data is None:
        return None
    cart = Cart.from_bytes(data)
    if not rules.may_use(cart, caller):
        raise CartNotFound(cart_id)
    return cart


async def open_cart(cache: Cache, cart_id: str | None, caller: Caller) -> tuple[Cart, bool]:
    """`POST /carts`: the given cart, else the caller's current one, else a new one (and if it is new)."""
    if cart_id is None and (user_id := rules.owner_of_new_cart(caller)):
        current = await cache.get(user_key(user_id), ttl=CART_TTL)
        cart_id = current.decode() if current else None
    if cart_id is not None and (cart := await load(cache, cart_id, caller)):
        return cart, False
    return await change(cache, cart_id or new_id(), caller, lambda _cart: None, create=True)


async def read_cart(cache: Cache, cart_id: str, caller: Caller) -> tuple[Cart, bool]:
    """`GET /carts/{id}`: the cart; as the seed's clients expect, an empty one is created for a new id."""
    if cart := await load(cache, cart_id, caller):
        return cart, False
    return await change(cache, cart_id, caller, lambda _cart: None, create=True)


async def add_item(
    cache: Cache, catalog: ProductsClient, cart_id: str, caller: Caller, variant_id: str, quantity: int
) -> Cart:
    """Add units of a variant at the catalog's price (merging with its line), within stock."""
    variant = await catalog.variant(variant_id)

    def add(cart: Cart) -> None:
        line = cart.line(variant_id)
        wanted = quantity + (line.quantity if line else 0)
        rules.check_quantity(variant, wanted)
        if line is None:
            cart.items.append(_line(variant, wanted))
        else:
            _refresh(line, variant, wanted)

    cart, _ = await change(cache, cart_id, caller, add, create=True)
    return cart


async def set_quantity(
    cache: Cache, catalog: ProductsClient, cart_id: str, caller: Caller, item_id: str, quantity: int
) -> Cart:
    cart = await load(cache, cart_id, caller)
    if cart is None:
        raise CartNotFound(cart_id)
    line = next((item for item in cart.items if item.item_id == item_id), None)
    if line is None:
        raise ItemNotFound(item_id)
    variant = await catalog.variant(line.variant_id)

    def set_line(cart: Cart) -> None:
        current = next((item for item in cart.items if item.item_id == item_id), None)
        if current is None:
            raise ItemNotFound(item_id)
        rules.check_quantity(variant, quantity)
        _refresh(current, variant, quantity)

    updated, _ = await change(cache, cart_id, caller, set_line)
    return updated


async def remove_item(cache: Cache, cart_id: str, caller: Caller, item_id: str) -> Cart:
    def remove(cart: Cart) -> None:
        if not any(item.item_id == item_id for item in cart.items):
            raise ItemNotFound(item_id)
        cart.items = [item for item in cart.items if item.item_id != item_id]

    cart, _ = await change(cache, cart_id, caller, remove)
    return cart


async def clear_items(cache: Cache, cart_id: str, caller: Caller) -> Cart:
    cart, _ = await change(cache, cart_id, caller, lambda cart: cart.items.clear())
    return cart


async def delete_cart(cache: Cache, cart_id: str, caller: Caller) -> None:
    cart = await load(cache, cart_id, caller)
    if cart is None:
        raise CartNotFound(cart_id)
    await cache.delete(cart_key(cart_id))
    if cart.user_id and await cache.get(user_key(cart.user_id)) == cart_id.encode():
        await cache.delete(user_key(cart.user_id))


async def associate(cache: Cache, catalog: ProductsClient, cart_id: str, user: Principal) -> Cart | None:
    """After login: the guest cart becomes the user's, merged into the cart the user already has
    (quantities summed, capped by stock), leaving one cart. Safe to retry. None if the cart is gone.
    """
    guest = await load(cache, cart_id, user)
    if guest is None:
        return None
    current = await cache.get(user_key(user.id), ttl=CART_TTL)
    target_id = current.decode() if current else None
    if target_id in (None, cart_id) or await cache.get(cart_key(target_id or "")) is None:
        claimed, _ = await change(cache, cart_id, user, lambda cart: setattr(cart, "user_id", user.id))
        await cache.set(user_key(user.id), cart_id.encode(), ttl=CART_TTL)
        return claimed
    assert target_id is not None
    variants = await catalog.variants(item.variant_id for item in guest.items)

    def merge(cart: Cart) -> None:
        if cart_id in cart.merged_cart_ids:
            return  # a retry after a crash between the merge and the deletion
        for item in guest.items:
            variant = variants.get(item.variant_id)
            if variant is None:
                continue  # no longer sold
            line = cart.line(item.variant_id)
            held = item.quantity + (line.quantity if line else 0)
            wanted = min(held, variant.stock_quantity, rules.MAX_LINE_QUANTITY)
            if wanted <= 0:
                continue
            if line is None:
                cart.items.append(_line(variant, wanted))
            else:
                _refresh(line, variant, wanted)
        cart.merged_cart_ids.append(cart_id)

    merged, _ = await change(cache, target_id, user, merge)
    await cache.delete(cart_key(cart_id))
    return merged


async def change(
    cache: Cache, cart_id: str, caller: Caller, apply: Callable[[Cart], None], *, create: bool = False
) -> tuple[Cart, bool]:
    """Apply `apply` to the cart atomically (creating it when allowed); says whether it was created."""
    created = False

    def step(current: bytes | None) -> bytes:
        nonlocal created
        if current is None:
            if not create:
                raise CartNotFound(cart_id)
            cart, created = Cart(id=cart_id, user_id=rules.owner_of_new_cart(caller)), True
        else:
            cart, created = Cart.from_bytes(current), False
            if not rules.may_use(cart, caller):
                raise CartNotFound(cart_id)
        apply(cart)
        cart.updated_at = now()
        return cart.to_bytes()

    data = await update(cache, cart_key(cart_id), step, ttl=CART_TTL)
    cart = Cart.from_bytes(data or b"")
    if created and cart.user_id:
        await cache.set(user_key(cart.user_id), cart.id.encode(), ttl=CART_TTL)
    return cart, created


def _line(variant: Variant, quantity: int) -> CartItem:
    return CartItem(
        product_id=variant.product_id,
        variant_id=variant.id,
        quantity=quantity,
        price=variant.price,
        name=variant.name,
        image_url=variant.image_url,
        attributes=variant.attributes,
    )


def _refresh(line: CartItem, variant: Variant, quantity: int) -> None:
    """The line at the catalog's current price and description."""
    line.quantity = quantity
    line.price, line.name, line.image_url, line.attributes = (
        variant.price,
        variant.name,
        variant.image_url,
        variant.attributes,
    )
