"""Cart rules on the embedded store and on Redis: prices, stock, ownership, expiry, merge, concurrency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

import pytest

from apis.carts import rules, service
from apis.carts.errors import CartNotFound, ItemNotFound, QuantityTooLarge
from contracts.products import InsufficientStock, ProductsClient, Variant, VariantNotFound
from kit.auth.principal import Principal
from kit.cache import Cache
from tests.support import BOTH_CACHES, scratch_cache


class FakeCatalog(ProductsClient):
    """The products service's answers, held in memory."""

    def __init__(self, *variants: Variant) -> None:
        self.known = {variant.id: variant for variant in variants}

    async def variants(self, ids: Iterable[str]) -> dict[str, Variant]:
        return {i: self.known[i] for i in ids if i in self.known}


def variant(variant_id: str, price: str = "10.00", stock: int = 50) -> Variant:
    return Variant(
        id=variant_id,
        cost_price=None,
        sku=f"SKU-{variant_id}",
        product_id=f"p-{variant_id}",
        price=Decimal(price),
        name={"en": f"Thing {variant_id}"},
        image_url=f"/images/{variant_id}.png",
        attributes={"Color": "Red"},
        stock_quantity=stock,
    )


RUN = {"id": ""}


@pytest.fixture(autouse=True)
def fresh_people() -> None:
    """User ids unique to each test: Redis outlives tests, and so would a user's current cart."""
    RUN["id"] = uuid.uuid4().hex[:8]


def user(name: str, role: str = "Customer", permissions: Iterable[str] = ()) -> Principal:
    user_id = f"{name}-{RUN['id']}"
    return Principal(
        id=user_id, email=f"{user_id}@example.com", name=name, role=role, permissions=frozenset(permissions)
    )


@pytest.fixture(params=BOTH_CACHES)
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    async with scratch_cache(request.param) as opened:
        yield opened


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog(*(variant(f"v{n}", price=f"{n}.50") for n in range(1, 21)), variant("scarce", stock=3))


def new_id() -> str:
    return str(uuid.uuid4())


async def test_an_added_item_carries_the_catalog_price_not_the_clients(
    cache: Cache, catalog: FakeCatalog
) -> None:
    cart = await service.add_item(cache, catalog, new_id(), None, "v2", 3)
    (line,) = cart.items
    assert (line.price, line.name, line.product_id, line.quantity) == (
        Decimal("2.50"),
        {"en": "Thing v2"},
        "p-v2",
        3,
    )
    assert cart.subtotal == Decimal("7.50")


async def test_adding_the_same_variant_again_sums_the_line(cache: Cache, catalog: FakeCatalog) -> None:
    cart_id = new_id()
    await service.add_item(cache, catalog, cart_id, None, "v1", 1)
    cart = await service.add_item(cache, catalog, cart_id, None, "v1", 3)
    assert [(item.variant_id, item.quantity) for item in cart.items] == [("v1", 4)]


async def test_an_unknown_variant_is_refused(cache: Cache, catalog: FakeCatalog) -> None:
    with pytest.raises(VariantNotFound):
        await service.add_item(cache, catalog, new_id(), None, "nope", 1)


async def test_more_than_the_stock_is_refused_with_the_available_quantity(
    cache: Cache, catalog: FakeCatalog
) -> None:
    cart_id = new_id()
    await service.add_item(cache, catalog, cart_id, None, "scarce", 2)
    with pytest.raises(InsufficientStock) as refused:
        await service.add_item(cache, catalog, cart_id, None, "scarce", 2)
    assert refused.value.details == [{"variantId": "scarce", "requested": 4, "available": 3}]


async def test_a_line_has_a_sane_maximum(cache: Cache) -> None:
    plenty = FakeCatalog(variant("v", stock=10_000))
    with pytest.raises(QuantityTooLarge):
        await service.add_item(cache, plenty, new_id(), None, "v", rules.MAX_LINE_QUANTITY + 1)


async def test_twenty_concurrent_adds_to_one_cart_are_all_kept(cache: Cache, catalog: FakeCatalog) -> None:
    cart_id = new_id()
    await asyncio.gather(*(service.add_item(cache, catalog, cart_id, None, f"v{n}", 1) for n in range(1, 21)))
    cart, _ = await service.read_cart(cache, cart_id, None)
    assert sorted(item.variant_id for item in cart.items) == sorted(f"v{n}" for n in range(1, 21))


async def test_a_users_cart_is_hidden_from_others_and_open_to_admins(
    cache: Cache, catalog: FakeCatalog
) -> None:
    cart_id = new_id()
    await service.add_item(cache, catalog, cart_id, user("ann"), "v1", 1)
    for stranger in (None, user("bob")):
        with pytest.raises(CartNotFound):
            await service.add_item(cache, catalog, cart_id, stranger, "v2", 1)
        with pytest.raises(CartNotFound):
            await service.read_cart(cache, cart_id, stranger)
    admin = user("root", role="ADMIN", permissions=["write:user", "read:order"])
    cart, created = await service.read_cart(cache, cart_id, admin)
    assert (cart.user_id, created) == (user("ann").id, False)


async def test_any_role_holding_the_permission_opens_a_users_cart_and_a_role_name_alone_does_not(
    cache: Cache, catalog: FakeCatalog
) -> None:
    cart_id = new_id()
    await service.add_item(cache, catalog, cart_id, user("ann"), "v1", 1)
    keeper = user("kim", role="Cart keeper", permissions=[rules.ANY_CART])
    cart = await service.add_item(cache, catalog, cart_id, keeper, "v2", 1)
    assert (cart.user_id, [item.variant_id for item in cart.items]) == (user("ann").id, ["v1", "v2"])
    support = user("sam", role="Support", permissions=["read:user", "read:order"])
    for lacking in (support, user("eve", role="ADMIN")):
        with pytest.raises(CartNotFound):
            await service.read_cart(cache, cart_id, lacking)


async def test_reading_an_unknown_cart_creates_it_as_the_seeds_clients_expect(cache: Cache) -> None:
    cart_id = new_id()
    cart, created = await service.read_cart(cache, cart_id, None)
    assert (cart.id, cart.items, created) == (cart_id, [], True)
    assert (await service.read_cart(cache, cart_id, None))[1] is False


async def test_opening_without_an_id_returns_the_users_current_cart(
    cache: Cache, catalog: FakeCatalog
) -> None:
    cart_id = new_id()
    await service.add_item(cache, catalog, cart_id, user("ann"), "v1", 1)
    cart, created = await service.open_cart(cache, None, user("ann"))
    assert (cart.id, created) == (cart_id, False)


async def test_quantities_and_lines_change_and_unknown_items_are_404(
    cache: Cache, catalog: FakeCatalog
) -> None:
    cart_id = new_id()
    cart = await service.add_item(cache, catalog, cart_id, None, "v1", 1)
    item_id = cart.items[0].item_id
    assert (await service.set_quantity(cache, catalog, cart_id, None, item_id, 5)).items[0].quantity == 5
    with pytest.raises(InsufficientStock):
        await service.set_quantity(cache, catalog, cart_id, None, item_id, 51)
    with pytest.raises(ItemNotFound):
        await service.remove_item(cache, cart_id, None, "missing")
    assert (await service.remove_item(cache, cart_id, None, item_id)).items == []
    await service.add_item(cache, catalog, cart_id, None, "v2", 1)
    assert (await service.clear_items(cache, cart_id, None)).items == []
    await service.delete_cart(cache, cart_id, None)
    with pytest.raises(CartNotFound):
        await service.delete_cart(cache, cart_id, None)


async def test_a_cart_expires_seven_days_after_its_last_use(cache: Cache, catalog: FakeCatalog) -> None:
    cart_id = new_id()
    await service.add_item(cache, catalog, cart_id, None, "v1", 1)
    assert service.CART_TTL == 7 * 24 * 3600
    await cache.set(service.cart_key(cart_id), (await cache.get(service.cart_key(cart_id))) or b"", ttl=0.3)
    await asyncio.sleep(0.5)
    assert await service.load(cache, cart_id, None) is None


async def test_login_merges_the_guest_cart_into_the_users_cart(cache: Cache, catalog: FakeCatalog) -> None:
    ann = user("ann")
    users_cart, guest_cart = new_id(), new_id()
    await service.add_item(cache, catalog, users_cart, ann, "v1", 1)
    await service.add_item(cache, catalog, users_cart, ann, "scarce", 2)
    await service.add_item(cache, catalog, guest_cart, None, "v1", 2)
    await service.add_item(cache, catalog, guest_cart, None, "scarce", 3)
    await service.add_item(cache, catalog, guest_cart, None, "v3", 1)

    merged = await service.associate(cache, catalog, guest_cart, ann)

    assert merged is not None
    assert merged.id == users_cart
    quantities = {item.variant_id: item.quantity for item in merged.items}
    assert quantities == {"v1": 3, "scarce": 3, "v3": 1}  # summed, capped by the stock of 3
    assert await service.load(cache, guest_cart, None) is None  # one cart is left


async def test_a_retried_merge_adds_nothing(cache: Cache, catalog: FakeCatalog) -> None:
    ann, users_cart, guest_cart = user("ann"), new_id(), new_id()
    await service.add_item(cache, catalog, users_cart, ann, "v1", 1)
    await service.add_item(cache, catalog, guest_cart, None, "v1", 2)
    saved_guest = await cache.get(service.cart_key(guest_cart))
    await service.associate(cache, catalog, guest_cart, ann)
    await cache.set(service.cart_key(guest_cart), saved_guest or b"")  # as if the deletion had not happened
    merged = await service.associate(cache, catalog, guest_cart, ann)
    assert merged is not None
    assert [item.quantity for item in merged.items] == [3]


async def test_a_user_without_a_cart_takes_the_guest_cart_over(cache: Cache, catalog: FakeCatalog) -> None:
    guest_cart = new_id()
    await service.add_item(cache, catalog, guest_cart, None, "v1", 2)
    claimed = await service.associate(cache, catalog, guest_cart, user("ann"))
    assert claimed is not None
    assert (claimed.id, claimed.user_id) == (guest_cart, user("ann").id)
    with pytest.raises(CartNotFound):
        await service.read_cart(cache, guest_cart, None)


async def test_nobody_can_take_another_users_cart(cache: Cache, catalog: FakeCatalog) -> None:
    cart_id = new_id()
    await service.add_item(cache, catalog, cart_id, user("ann"), "v1", 1)
    with pytest.raises(CartNotFound):
        await service.associate(cache, catalog, cart_id, user("bob"))
