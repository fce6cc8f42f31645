"""Placing an order: priced by the catalog, written `PENDING` with its saga start in one transaction,
then answered once the saga settles it (or 202 while it works on).

Retries are safe: an `Idempotency-Key` (or, without one, the same order from the same customer within a
minute: a double click) maps to the order already made.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from apis.orders.errors import EmptyCart, OrderFailed, OrderNotFound, PaymentDeclined, VariantUnavailable
from apis.orders.models import Order, OrderItem
from apis.orders.rules import hash_token
from apis.orders.schemas import OrderCreate
from contracts.carts import CartsClient
from contracts.currencies import BASE_RATE, CurrenciesClient
from contracts.orders import PAYMENT_DECLINED, OrderStatus, PaymentMethod
from contracts.products import ProductsClient
from kit.auth.principal import Principal
from kit.db import commit
from kit.errors import BadRequest, NotFound
from kit.localisation import DEFAULT_LANGUAGE
from kit.outbox import WorkflowStart, record_workflow
from workflows import place_order as saga

DOUBLE_CLICK_WINDOW = 60  # seconds within which an identical order is the same order
SETTLED_POLL = 0.25  # seconds between reads of an order waited for, unless a change here wakes it sooner
# The request starts the saga itself once the order is committed; the outbox only after this, if it did not.
START_FALLBACK = timedelta(seconds=2)


async def place_order(
    sessions: async_sessionmaker[AsyncSession],
    catalog: ProductsClient,
    carts: CartsClient,
    caller: Principal | None,
    data: OrderCreate,
    idempotency_key: str | None,
    *,
    currencies: CurrenciesClient | None = None,
    currency: str | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> tuple[Order, WorkflowStart | None, str | None]:
    """The order for this request: a new one with its saga start and guest token, or the one made before.

    `currency` (from `X-Currency`): the order records it, the rate the products service gives it now and
    the amounts in it; the base amounts are kept and charged, and a retry finds the order with its rate.
    `language` (from `Accept-Language`): a guest's mails about the order are written in it.

    Each database step is a short session of its own: no connection is held while the cart or the catalog
    answers (a burst of duplicates must not drain the pool the saga's status reports need).
    """
    email, guest = _customer(caller, data)
    lines = await _lines(carts, caller, data)
    keys = _idempotency_keys(caller, email, data, lines, idempotency_key)
    if existing := await _find(sessions, keys):
        return existing, None, None
    rate = await currencies.fresh_rate(currency) if currencies is not None else BASE_RATE
    variants = await catalog.variants(lines)
    if missing := [variant_id for variant_id in lines if variant_id not in variants]:
        raise VariantUnavailable(missing)
    total = sum((variants[v].price * q for v, q in lines.items()), Decimal(0))
    shown = {v: rate.convert(variants[v].price) for v in lines}
    guest_token = secrets.token_hex(32) if guest else None
    order = Order(
        user_id=None if guest or caller is None else caller.id,
        guest_email=email if guest else None,
        guest_name=data.guest_name if guest else None,
        guest_token_hash=hash_token(guest_token) if guest_token else None,
        phone=data.phone,
        payment_method=data.payment_method,
        shipping_address=data.shipping_address.model_dump(by_alias=True, exclude_none=True),
        total_amount=total,
        display_currency=rate.code,
        exchange_rate_at_purchase=rate.rate_vs_base,
        display_total_amount=sum((shown[v] * q for v, q in lines.items()), Decimal(0)),
        cart_id=str(data.cart_id) if data.cart_id else None,
        language=language,
        idempotency_key=keys[0],
    )
    items = [
        OrderItem(
            order_id=order.id,
            product_id=variant.product_id,
            variant_id=variant_id,
            product_name=variant.name if isinstance(variant.name, dict) else {"en": str(variant.name)},
            variant_attributes=variant.attributes,
            sku=variant.sku,
            image_url=variant.image_url,
            price_at_time_of_order=variant.price,
            display_price_at_time_of_order=shown[variant_id],
            cost_price_at_time_of_order=variant.cost_price,
            quantity=quantity,
        )
        for variant_id, quantity in lines.items()
        for variant in [variants[variant_id]]
    ]
    token = data.payment_token if data.payment_method == PaymentMethod.CREDIT_CARD else None
    start = saga_start(order, lines, email, token=token)
    try:
        async with sessions() as session:
            session.add(order)
            session.add_all(items)
            record_workflow(session, start, fallback_after=START_FALLBACK)
            await commit(session)
    except IntegrityError:  # the same key won a race with this request
        if existing := await _find(sessions, keys):
            return existing, None, None
        raise
    return order, start, guest_token


def _moved_on(order: Order) -> bool:
    return order.status != OrderStatus.PENDING


class Settlements:
    """The requests of this process waiting for an order to change, woken as soon as a change to it commits
    here (the saga's report reaches any instance of the service: one elsewhere is seen by polling).
    """

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watching(self, order_id: str) -> Iterator[asyncio.Event]:
        changed = asyncio.Event()
        self._waiting.setdefault(order_id, set()).add(changed)
        try:
            yield changed
        finally:
            waiting = self._waiting[order_id]
            waiting.discard(changed)
            if not waiting:
                del self._waiting[order_id]

    def changed(self, order_id: str) -> None:
        for event in self._waiting.get(order_id, ()):
            event.set()


async def settled(
    sessions: async_sessionmaker[AsyncSession],
    settlements: Settlements,
    order_id: str,
    seconds: float,
    done: Callable[[Order], bool] = _moved_on,
) -> Order:
    """The order once the saga has settled it (`done`: moved on from PENDING), or as it is after `seconds`."""
    deadline = time.monotonic() + seconds
    with settlements.watching(order_id) as changed:
        while True:
            changed.clear()  # before reading: a change committed after the read wakes the wait below
            async with sessions() as session:
                order = await session.get(Order, order_id)
            if order is None:
                raise OrderNotFound(order_id)
            remaining = deadline - time.monotonic()
            if done(order) or remaining <= 0:
                return order
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, SETTLED_POLL))


def raise_if_failed(order: Order) -> None:
    """A failed order answers as the error that failed it (409 insufficient stock, 402 declined card)."""
    if order.status != OrderStatus.FAILED:
        return
    reason, details = order.failure_reason or "The order could not be placed.", order.failure_details
    if order.failure_code == PAYMENT_DECLINED:
        raise PaymentDeclined(reason, details=[{"orderId": order.id}])
    raise OrderFailed(reason, order.failure_code or "OrderFailed", [*(details or []), {"orderId": order.id}])


def _customer(caller: Principal | None, data: OrderCreate) -> tuple[str, bool]:
    """The customer's email, and whether this is a guest order (guests must name themselves)."""
    if caller is not None and not caller.is_service:
        return caller.email, False
    missing = [
        field
        for field, value in (("guestEmail", data.guest_email), ("guestName", data.guest_name))
        if not value
    ]
    if missing:
        raise BadRequest(
            "Guests must give guestEmail and guestName.",
            code="ValidationError",
            details=[{"field": field, "message": "required for guest orders"} for field in missing],
        )
    assert data.guest_email is not None
    return data.guest_email, True


async def _lines(carts: CartsClient, caller: Principal | None, data: OrderCreate) -> dict[str, int]:
    """Quantity per variant (a variant listed twice is one line), from the body or from the cart."""
    lines: dict[str, int] = {}
    if data.items is not None:
        for item in data.items:
            lines[item.variant_id] = lines.get(item.variant_id, 0) + item.quantity
        return lines
    cart_id = str(data.cart_id)
    try:
        cart = await carts.lines(cart_id)
    except NotFound as missing:
        raise EmptyCart(cart_id) from missing
    if cart.user_id is not None and (caller is None or caller.id != cart.user_id):
        raise EmptyCart(cart_id)  # someone else's cart: as if it did not exist
    if not cart.quantities:
        raise EmptyCart(cart_id)
    return cart.quantities


def _idempotency_keys(
    caller: Principal | None, email: str, data: OrderCreate, lines: dict[str, int], header: str | None
) -> list[str]:
    """The key to store first, then older ones that also denote this order."""
    scope = caller.id if caller is not None and not caller.is_service else f"guest:{email}"
    if header:
        return [f"{scope}:key:{header}"]
    content = json.dumps(
        [
            sorted(lines.items()),
            data.shipping_address.model_dump(mode="json"),
            data.payment_method,
            data.phone,
        ],
        sort_keys=True,
    )
    fingerprint = hashlib.sha256(f"{scope}|{content}".encode()).hexdigest()[:32]
    window = int(time.time() // DOUBLE_CLICK_WINDOW)
    return [f"{scope}:auto:{fingerprint}:{window}", f"{scope}:auto:{fingerprint}:{window - 1}"]


async def _find(sessions: async_sessionmaker[AsyncSession], keys: list[str]) -> Order | None:
    async with sessions() as session:
        order: Order | None = await session.scalar(select(Order).where(col(Order.idempotency_key).in_(keys)))
        return order


def saga_start(
    order: Order, lines: dict[str, int], email: str, *, token: str | None = None, cancel: str | None = None
) -> WorkflowStart:
    """The order's saga, to start (with `cancel`: the cancel signal, sent with-start)."""
    data = saga.PlaceOrderInput(
        order_id=order.id,
        lines=[saga.OrderLine(variant_id=v, quantity=q) for v, q in lines.items()],
        payment_method=order.payment_method,
        amount=f"{order.total_amount:.2f}",
        customer_email=email,
        payment_token=token,
        cart_id=order.cart_id,
    )
    return saga.start(data, cancel=cancel)
