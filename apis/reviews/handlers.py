"""What the reviews service consumes, as its own consumer group: reviewers from `auth_events` and products
from `product_events`, kept as local copies to show on reviews, each event applied once and never over a
newer copy (kit/copies.py).

A deactivated user's reviews stay, under their last name (the seed cascaded them away without recounting the
products' ratings); a deleted product's copy is marked so, and its reviews leave every listing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.reviews.models import ProductCopy, ReviewerCopy
from contracts import auth, products
from contracts.reviews import GROUP
from kit import copies
from kit.bus import Event, EventBus


async def copy_reviewer(session: AsyncSession, event: Event) -> None:
    payload, user_id = event.payload, str(event.payload.get("id", event.key))
    if event.type == auth.USER_DELETED:
        await copies.keep_newest(
            session, ReviewerCopy, user_id, {"is_active": False}, event.version, create=False
        )
        return
    fields = {
        "name": payload.get("name") or "",
        "profile_image": payload.get("profileImage"),
        "is_active": True,
    }
    await copies.keep_newest(session, ReviewerCopy, user_id, fields, event.version)


async def copy_product(session: AsyncSession, event: Event) -> None:
    payload, product_id = event.payload, str(event.payload.get("id", event.key))
    if event.type == products.PRODUCT_DELETED:  # final: product ids are never reused
        fields = {"name": {}, "sku": "", "is_deleted": True}
        await copies.keep_newest(session, ProductCopy, product_id, fields, copies.FINAL_VERSION)
        return
    fields = {**products.copy_fields(payload), "is_deleted": False}
    version = event.version or products.document_version(payload)
    await copies.keep_newest(session, ProductCopy, product_id, fields, version)


APPLIERS: dict[str, copies.Apply] = {
    auth.USER_CREATED: copy_reviewer,
    auth.USER_UPDATED: copy_reviewer,
    auth.USER_DELETED: copy_reviewer,
    products.PRODUCT_CREATED: copy_product,
    products.PRODUCT_UPDATED: copy_product,
    products.PRODUCT_DELETED: copy_product,
}


def once(sessions: async_sessionmaker[AsyncSession]) -> copies.Handler:
    return copies.once(sessions, copies.HandledEvent, APPLIERS)


def subscribe(bus: EventBus, sessions: async_sessionmaker[AsyncSession]) -> None:
    bus.subscribe(GROUP, [auth.AUTH_EVENTS, products.PRODUCT_EVENTS], once(sessions))
