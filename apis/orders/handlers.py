"""What the orders service consumes: users and products from the bus, kept as local copies to show on
orders. Each event is applied once: its id is recorded in the same transaction as its change. A copy keeps
the version of the event it came from, and an older event changes nothing (a late or replayed one).

Versions: the envelope's `version` (auth sets it); else, for products, the document's `updatedAt` in
microseconds (the catalog bumps it with every change of the product, its variants or its images). An event
without one is older than any versioned copy: `USER_CREATED`, by definition the first state, or an event
published before versions existed (which still updates a copy that has no version either).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.orders.models import CustomerCopy, HandledEvent, ProductCopy
from contracts import auth, products
from kit.bus import Event, EventBus
from kit.db import now

GROUP = "orders"


async def copy_user(session: AsyncSession, event: Event) -> None:
    payload, user_id = event.payload, str(event.payload.get("id", event.key))
    if event.type == auth.USER_DELETED:  # deactivated: keep the copy, so order history stays readable
        await _update(session, CustomerCopy, user_id, {"is_active": False}, event.version, create=False)
        return
    fields = {
        "name": payload.get("name") or "",
        "email": payload.get("email") or "",
        "profile_image": payload.get("profileImage"),
        "is_active": True,
    }
    await _update(session, CustomerCopy, user_id, fields, event.version)


async def copy_product(session: AsyncSession, event: Event) -> None:
    payload, product_id = event.payload, str(event.payload.get("id", event.key))
    if event.type == products.PRODUCT_DELETED:  # final: product ids are never reused
        await _update(session, ProductCopy, product_id, {"is_deleted": True}, DELETED, create=False)
        return
    name = payload.get("name")
    fields = {
        "name": name if isinstance(name, dict) else {"en": str(name or "")},
        "sku": payload.get("sku") or "",
        "image_url": payload.get("primaryImageUrl"),
        "is_deleted": False,
    }
    version = event.version or _micros(payload.get("updatedAt"))
    await _update(session, ProductCopy, product_id, fields, version)


DELETED = 2**62  # the version of a deleted product: nothing comes after it


def _micros(moment: object) -> int | None:
    """An ISO timestamp (`2025-01-02T03:04:05.123456Z`) as microseconds since the epoch."""
    if not isinstance(moment, str):
        return None
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.replace(tzinfo=parsed.tzinfo or UTC).timestamp() * 1_000_000)


async def _update(
    session: AsyncSession,
    model: type[CustomerCopy | ProductCopy],
    key: str,
    fields: dict[str, Any],
    version: int | None,
    *,
    create: bool = True,
) -> None:
    """Apply `fields` to the copy (created when missing, if `create`) unless it holds a newer version."""
    fields = {**fields, "updated_at": now()}
    row: CustomerCopy | ProductCopy | None = await session.get(model, key)
    if row is None:
        if create:
            session.add(model(id=key, version=version or 0, **fields))
        return
    newer = row.version == 0 if version is None else version > row.version
    if not newer:
        return
    for name, value in {**fields, "version": version or 0}.items():
        setattr(row, name, value)


COPIERS: dict[str, Callable[[AsyncSession, Event], Awaitable[None]]] = {
    auth.USER_CREATED: copy_user,
    auth.USER_UPDATED: copy_user,
    auth.USER_DELETED: copy_user,
    products.PRODUCT_CREATED: copy_product,
    products.PRODUCT_UPDATED: copy_product,
    products.PRODUCT_DELETED: copy_product,
}


def once(sessions: async_sessionmaker[AsyncSession]) -> Callable[[Event], Awaitable[None]]:
    """The bus handler: each known event applied in a transaction that also records its id."""

    async def handle(event: Event) -> None:
        copier = COPIERS.get(event.type)
        if copier is None:
            return
        async with sessions() as session, session.begin():
            if await session.get(HandledEvent, event.id) is not None:
                return
            session.add(HandledEvent(id=event.id))
            await copier(session, event)

    return handle


def subscribe(bus: EventBus, sessions: async_sessionmaker[AsyncSession]) -> None:
    bus.subscribe(GROUP, [auth.AUTH_EVENTS, products.PRODUCT_EVENTS], once(sessions))
