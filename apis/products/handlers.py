"""What the products service consumes: the reviews' figures of each product (`REVIEW_UPDATED` on
`review_events`, its own consumer group), stored as `average_rating` and `review_count`.

Applied only when newer: the update is conditional on the event's version being above the one stored, so a
redelivered, replayed or overtaken event changes nothing, and two consumers racing agree. A change is a change
of the product like any other: `updatedAt` moves and the product's sync workflow republishes it (queued in the
same transaction), so search reindexes it with its new rating.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from apis.products import reads
from apis.products.events import Notifier
from apis.products.models import Product
from contracts import reviews
from kit.bus import Event, EventBus
from kit.db import now

GROUP = "products"
log = logging.getLogger(__name__)


async def apply_figures(session: AsyncSession, notify: Notifier, figures: reviews.RatingFigures) -> bool:
    """Store the figures unless the product holds newer ones (or is gone); True when they were stored."""
    stored = await session.execute(
        sa.update(Product)
        .where(
            col(Product.id) == figures.product_id,
            col(Product.rating_version) < figures.version,
            reads.NOT_ARCHIVED,
        )
        .values(
            average_rating=figures.average_rating,
            review_count=figures.review_count,
            rating_version=figures.version,
            updated_at=now(),
        )
    )
    if getattr(stored, "rowcount", 0) != 1:
        return False
    notify.product_changed(session, figures.product_id)
    return True


def subscribe(bus: EventBus, sessions: async_sessionmaker[AsyncSession], notify: Notifier) -> None:
    async def handle(event: Event) -> None:
        if event.type != reviews.REVIEW_UPDATED:
            return
        try:
            figures = reviews.RatingFigures.model_validate(event.payload)
        except ValidationError:  # not ours to repair: parked on the dead-letter topic by the bus
            log.warning("malformed REVIEW_UPDATED", extra={"eventId": event.id})
            raise
        async with sessions() as session, session.begin():
            await apply_figures(session, notify, figures)

    bus.subscribe(GROUP, [reviews.REVIEW_EVENTS], handle)
