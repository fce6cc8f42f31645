"""What the reviews GETs answer: reviews with their reviewer and product from the local copies, newest
first; a deleted product's reviews are left out (its copy says so), as the seed's cascade did.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.reviews.errors import ReviewNotFound
from apis.reviews.models import ProductCopy, Review, ReviewerCopy
from apis.reviews.schemas import ReviewedProduct, Reviewer, ReviewPage, ReviewRead
from kit.localisation import localise
from kit.schemas import Pagination


def listed() -> sa.Select[Review, ProductCopy, ReviewerCopy]:
    """Reviews with their product and reviewer (if known), leaving out those of deleted products."""
    return (
        sa.select(Review, ProductCopy, ReviewerCopy)
        .join(ProductCopy, col(ProductCopy.id) == col(Review.product_id))
        .outerjoin(ReviewerCopy, col(ReviewerCopy.id) == col(Review.user_id))
        .where(col(ProductCopy.is_deleted).is_(False))
    )


def present(review: Review, product: ProductCopy, reviewer: ReviewerCopy | None, language: str) -> ReviewRead:
    user = Reviewer(
        id=review.user_id,
        name=reviewer.name if reviewer else "",
        profile_image=reviewer.profile_image if reviewer else None,
    )
    return ReviewRead(
        id=review.id,
        rating=review.rating,
        title=review.title,
        comment=review.comment,
        is_verified_purchase=review.is_verified_purchase,
        user_id=review.user_id,
        product_id=review.product_id,
        created_at=review.created_at,
        updated_at=review.updated_at,
        user=user,
        product=ReviewedProduct(
            id=product.id, name=localise(product.name, language), sku=product.sku, image_url=product.image_url
        ),
    )


async def present_one(session: AsyncSession, review_id: str, language: str) -> ReviewRead:
    found = (await session.execute(listed().where(col(Review.id) == review_id))).first()
    if found is None:
        raise ReviewNotFound(review_id)
    review, product, reviewer = found
    return present(review, product, reviewer, language)


async def page_of(session: AsyncSession, page: int, limit: int, language: str, **filters: Any) -> ReviewPage:
    """A page of reviews matching `filters` (user_id, product_id, rating; None: any), newest first."""
    conditions = [getattr(Review, name) == value for name, value in filters.items() if value is not None]
    matching = listed().where(*conditions)
    total = (await session.execute(sa.select(sa.func.count()).select_from(matching.subquery()))).scalar_one()
    rows = await session.execute(
        matching.order_by(col(Review.created_at).desc(), col(Review.id).desc())
        .offset((page - 1) * limit)
        .limit(limit)
    )
    return ReviewPage(
        data=[present(review, product, reviewer, language) for review, product, reviewer in rows.all()],
        pagination=Pagination.of(total, page, limit),
    )
