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
    customer = await session.get(CustomerCopy, user_id)
    if event.type == "USER_DELETED":  # deactivated: keep the copy, order history stays readable
        if customer is not None:
            customer.is_active = False
        return
    fields: dict[str, Any] = {
        "name": payload.get("name") or "",
        "email": payload.get("email") or "",
        "profile_image": payload.get("profileImage"),
        "is_active": True,
        "updated_at": datetime.now(UTC),
    }
    if customer is None:
        session.add(CustomerCopy(id=user_id, **fields))
    else:
        for name, value in fields.items():
            setattr(customer, name, value)


async def copy_product(session: AsyncSession, event: Event) -> None:
    payload, product_id = event.payload, str(event.payload.get("id", event.key))
    product = await session.get(ProductCopy, product_id)
    if event.type == "PRODUCT_DELETED":
        if product is not None:
            product.is_deleted = True
        return
    name = payload.get("name")
    fields: dict[str, Any] = {
        "name": name if isinstance(name, dict) else {"en": str(name or "")},
        "sku": payload.get("sku") or "",
        "image_url": payload.get("primaryImageUrl"),
        "is_deleted": False,
        "updated_at": datetime.now(UTC),
    }
    if product is None:
        session.add(ProductCopy(id=product_id, **fields))
    else:
        for field, value in fields.items():
            setattr(product, field, value)


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
