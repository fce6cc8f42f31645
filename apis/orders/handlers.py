"""What the orders service consumes: users and products from the bus, kept as local copies to show on
orders, each event applied once and never over a newer copy (kit/copies.py).

Versions: the envelope's `version` (auth sets it); else, for products, the document's `updatedAt` in
microseconds (`contracts.products.document_version`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.orders.models import CustomerCopy, HandledEvent, ProductCopy
from contracts import auth, products
from kit import copies
from kit.bus import Event, EventBus
from kit.localisation import LANGUAGES

GROUP = "orders"


async def copy_user(session: AsyncSession, event: Event) -> None:
    payload, user_id = event.payload, str(event.payload.get("id", event.key))
    if event.type == auth.USER_DELETED:  # deactivated: keep the copy, so order history stays readable
        await copies.keep_newest(
            session, CustomerCopy, user_id, {"is_active": False}, event.version, create=False
        )
        return
    fields = {
        "name": payload.get("name") or "",
        "email": payload.get("email") or "",
        "profile_image": payload.get("profileImage"),
        "is_active": True,
    }
    if payload.get("language") in LANGUAGES:  # an event from before users had one keeps the copy's
        fields["language"] = payload["language"]
    await copies.keep_newest(session, CustomerCopy, user_id, fields, event.version)


async def copy_product(session: AsyncSession, event: Event) -> None:
    payload, product_id = event.payload, str(event.payload.get("id", event.key))
    if event.type == products.PRODUCT_DELETED:  # final: product ids are never reused
        await copies.keep_newest(
            session, ProductCopy, product_id, {"is_deleted": True}, copies.FINAL_VERSION, create=False
        )
        return
    fields = {**products.copy_fields(payload), "is_deleted": False}
    version = event.version or products.document_version(payload)
    await copies.keep_newest(session, ProductCopy, product_id, fields, version)


COPIERS: dict[str, Callable[[AsyncSession, Event], Awaitable[None]]] = {
    auth.USER_CREATED: copy_user,
    auth.USER_UPDATED: copy_user,
    auth.USER_DELETED: copy_user,
    products.PRODUCT_CREATED: copy_product,
    products.PRODUCT_UPDATED: copy_product,
    products.PRODUCT_DELETED: copy_product,
}


def once(sessions: async_sessionmaker[AsyncSession]) -> Callable[[Event], Awaitable[None]]:
    """The bus handler: each known event applied once, in a transaction that also records its id."""
    return copies.once(sessions, HandledEvent, COPIERS)


def subscribe(bus: EventBus, sessions: async_sessionmaker[AsyncSession]) -> None:
    bus.subscribe(GROUP, [auth.AUTH_EVENTS, products.PRODUCT_EVENTS], once(sessions))
