"""What the orders service consumes: users and products from the bus, kept as local copies to show on
orders. Each event is applied once: its id is recorded in the same transaction as its change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.orders.models import CustomerCopy, HandledEvent, ProductCopy
from kit.bus import Event, EventBus

GROUP = "orders"


async def copy_user(session: AsyncSession, event: Event) -> None:
    payload, user_id = event.payload, str(event.payload.get("id", event.key))
    if event.type == "USER_DELETED":  # deactivated: keep the copy, so order history stays readable
        await _update(session, CustomerCopy, user_id, {"is_active": False}, create=False)
        return
    fields = {
        "name": payload.get("name") or "",
        "email": payload.get("email") or "",
        "profile_image": payload.get("profileImage"),
        "is_active": True,
    }
    await _update(session, CustomerCopy, user_id, fields)


async def copy_product(session: AsyncSession, event: Event) -> None:
    payload, product_id = event.payload, str(event.payload.get("id", event.key))
    if event.type == "PRODUCT_DELETED":
        await _update(session, ProductCopy, product_id, {"is_deleted": True}, create=False)
        return
    name = payload.get("name")
    fields = {
        "name": name if isinstance(name, dict) else {"en": str(name or "")},
        "sku": payload.get("sku") or "",
        "image_url": payload.get("primaryImageUrl"),
        "is_deleted": False,
    }
    await _update(session, ProductCopy, product_id, fields)


async def _update(
    session: AsyncSession,
    model: type[CustomerCopy | ProductCopy],
    key: str,
    fields: dict[str, Any],
    *,
    create: bool = True,
) -> None:
    """Apply `fields` to the copy (created when missing, if `create`)."""
    fields = {**fields, "updated_at": datetime.now(UTC)}
    row = await session.get(model, key)
    if row is None:
        if create:
            session.add(model(id=key, **fields))
        return
    for name, value in fields.items():
        setattr(row, name, value)


COPIERS: dict[str, Callable[[AsyncSession, Event], Awaitable[None]]] = {
    "USER_CREATED": copy_user,
    "USER_UPDATED": copy_user,
    "USER_DELETED": copy_user,
    "PRODUCT_CREATED": copy_product,
    "PRODUCT_UPDATED": copy_product,
    "PRODUCT_DELETED": copy_product,
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
    bus.subscribe(GROUP, ["auth_events", "product_events"], once(sessions))
