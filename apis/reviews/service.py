"""The rules of reviews: one per customer and product, written only once the orders service has said whether
it is a verified purchase, changed by its author only, deleted by its author or a moderator; each write
publishes the product's new figures (REVIEW_UPDATED) through the outbox, in the transaction of the change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from apis.reviews import reads
from apis.reviews.errors import (
    NotYourReview,
    ProductNotFound,
    ReviewExists,
    ReviewNotFound,
    catalog_unavailable,
    orders_unavailable,
)
from apis.reviews.models import ProductCopy, ProductRating, Review, ReviewerCopy
from apis.reviews.schemas import ReviewCreate, ReviewRead, ReviewUpdate
from contracts import reviews
from contracts.orders import PurchasesClient
from contracts.products import ProductsClient
from kit import db
from kit.auth.principal import Principal
from kit.bus import Event
from kit.db import now
from kit.errors import AppError
from kit.outbox import record_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peers:
    """The services a review is checked with: orders (the purchase, with this service's credentials) and the
    catalog (a product not copied yet; its public read).
    """

    purchases: PurchasesClient
    catalog: ProductsClient


async def create_review(
    sessions: async_sessionmaker[AsyncSession],
    peers: Peers,
    author: Principal,
    data: ReviewCreate,
    language: str,
) -> ReviewRead:
    """Check the product and the one-review rule, ask orders about the purchase (holding no connection
    meanwhile), then write the review and its figures in one transaction; the unique constraint settles a
    race between two posts of one customer. A product whose PRODUCT_CREATED has not arrived yet is read
    from the catalog and copied.
    """
    async with sessions() as session:
        product = await session.get(ProductCopy, data.product_id)
        if product is not None and product.is_deleted:
            raise ProductNotFound(data.product_id)
        if await _review_of(session, author.id, data.product_id) is not None:
            raise ReviewExists(data.product_id)
    fetched = await _from_catalog(peers.catalog, data.product_id) if product is None else None
    try:
        verified = await peers.purchases.verified(author.id, data.product_id)
    except AppError as exc:  # unreachable, failing, or refusing our identity: no answer either way
        log.warning("orders could not verify a purchase", extra={"error": exc.message})
        raise orders_unavailable() from exc
    async with sessions() as session:
        await _know_reviewer(session, author)
        if fetched is not None:
            await _copy_product(session, data.product_id, *fetched)
        review = Review(
            user_id=author.id,
            product_id=data.product_id,
            rating=data.rating,
            title=data.title or None,
            comment=data.comment,
            is_verified_purchase=verified,
        )
        session.add(review)
        await db.flush(session, conflict=lambda: ReviewExists(data.product_id))
        await publish_figures(session, data.product_id)
        await db.commit(session, conflict=lambda: ReviewExists(data.product_id))
        return await reads.present_one(session, review.id, language)


async def update_review(
    session: AsyncSession, author: Principal, review_id: str, data: ReviewUpdate, language: str
) -> ReviewRead:
    """The author changes the fields given (the rating checked as on creation); others get a 403."""
    review = await _get(session, review_id)
    if review.user_id != author.id:
        raise NotYourReview("update")
    changes = data.model_dump(include=data.model_fields_set)
    if "title" in changes:
        changes["title"] = changes["title"] or None
    changed = await session.execute(
        sa.update(Review)
        .where(col(Review.id) == review_id, col(Review.user_id) == author.id)
        .values(**changes, updated_at=now())
    )
    if getattr(changed, "rowcount", 0) != 1:  # deleted meanwhile
        raise ReviewNotFound(review_id)
    if "rating" in changes:
        await publish_figures(session, review.product_id)
    await session.commit()
    return await reads.present_one(session, review_id, language)


async def delete_review(session: AsyncSession, caller: Principal, review_id: str) -> None:
    """The author (holding `delete:review`) or a moderator (`moderate:review`) deletes a review; the seed let
    any customer delete anyone's.
    """
    review = await _get(session, review_id)
    own = review.user_id == caller.id and caller.can(reviews.DELETE_REVIEW)
    if not own and not caller.can(reviews.MODERATE_REVIEW):
        raise NotYourReview("delete")
    deleted = await session.execute(sa.delete(Review).where(col(Review.id) == review_id))
    if getattr(deleted, "rowcount", 0) != 1:  # a concurrent delete won: the review is gone all the same
        await session.rollback()
        return
    await publish_figures(session, review.product_id)
    await session.commit()


async def publish_figures(session: AsyncSession, product_id: str) -> None:
    """Record REVIEW_UPDATED with the product's figures, in the caller's transaction.

    The product's figures row is locked first (an upsert), so concurrent writers of one product's reviews
    count one after the other and each sees the others' committed reviews; its version is the time in
    microseconds, or one more than the last when the clock has not moved on, so it only grows, and a
    rebuilt database does not start again below what the products service last took.
    """
    table = ProductRating.__table__  # type: ignore[attr-defined]
    await session.execute(
        db.insert(session, ProductRating)
        .values(product_id=product_id, average_rating=0.0, review_count=0, version=0)
        .on_conflict_do_update(index_elements=["product_id"], set_={"version": table.c.version})
    )
    count, average = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.avg(Review.rating)).where(col(Review.product_id) == product_id)
        )
    ).one()
    figures = await session.get_one(ProductRating, product_id, populate_existing=True)
    figures.version = max(figures.version + 1, int(now().timestamp() * 1_000_000))
    figures.review_count = int(count)
    figures.average_rating = round(float(average or 0), 2)
    payload = reviews.RatingFigures(
        product_id=product_id,
        average_rating=figures.average_rating,
        review_count=figures.review_count,
        version=figures.version,
    )
    record_event(
        session,
        Event(
            type=reviews.REVIEW_UPDATED,
            payload=payload.model_dump(by_alias=True),
            source_service=reviews.SERVICE,
            topic=reviews.REVIEW_EVENTS,
            key=product_id,
            version=figures.version,
        ),
    )


async def _get(session: AsyncSession, review_id: str) -> Review:
    """The review, if it is listed (a deleted product's reviews are gone for everyone)."""
    found = await session.execute(reads.listed().where(col(Review.id) == review_id))
    row = found.first()
    if row is None:
        raise ReviewNotFound(review_id)
    return row[0]


async def _review_of(session: AsyncSession, user_id: str, product_id: str) -> Review | None:
    found = await session.execute(
        sa.select(Review).where(col(Review.user_id) == user_id, col(Review.product_id) == product_id)
    )
    return found.scalars().first()


async def _from_catalog(catalog: ProductsClient, product_id: str) -> tuple[dict[str, Any], int | None]:
    try:
        found = await catalog.copy_of(product_id)
    except AppError as exc:
        log.warning("the catalog could not show a product", extra={"error": exc.message})
        raise catalog_unavailable() from exc
    if found is None:
        raise ProductNotFound(product_id)
    return found


async def _copy_product(
    session: AsyncSession, product_id: str, fields: dict[str, Any], version: int | None
) -> None:
    """The catalog's product as a copy, unless the consumer wrote one meanwhile (from an event at least as
    new): the events keep it current from there.
    """
    await session.execute(
        db.insert(session, ProductCopy)
        .values(id=product_id, **fields, is_deleted=False, version=version or 0, updated_at=now())
        .on_conflict_do_nothing(index_elements=["id"])
    )


async def _know_reviewer(session: AsyncSession, author: Principal) -> None:
    """A reviewer the auth events have not brought yet is named as their token names them (version 0, so
    any event about them replaces it).
    """
    await session.execute(
        db.insert(session, ReviewerCopy)
        .values(id=author.id, name=author.name or "", is_active=True, version=0, updated_at=now())
        .on_conflict_do_nothing(index_elements=["id"])
    )
