"""Promotions: the storefront shows the active ones not yet expired, in `displayOrder`; staff holding
`write:promotion` write them and reorder them all in one transaction (every listed promotion takes its
index, or, when one of them is gone, none does).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products.errors import PromotionNotFound
from apis.products.models import Promotion
from apis.products.schemas.products import texts
from apis.products.schemas.promotions import PromotionCreate, PromotionUpdate
from kit.db import now

ORDER = (col(Promotion.display_order), col(Promotion.created_at), col(Promotion.id))
TEXTS = ("title", "subtitle", "tagline", "cta_text")


async def live(session: AsyncSession, at: datetime | None = None) -> list[Promotion]:
    """The promotions on show at `at` (now): active, and without an expiry or before it."""
    moment = at or now()
    shown = sa.or_(col(Promotion.expires_at).is_(None), col(Promotion.expires_at) > moment)
    query = sa.select(Promotion).where(col(Promotion.is_active) == sa.true(), shown).order_by(*ORDER)
    return list(await session.scalars(query))


async def every(session: AsyncSession) -> list[Promotion]:
    return list(await session.scalars(sa.select(Promotion).order_by(*ORDER)))


async def get(session: AsyncSession, promotion_id: str) -> Promotion:
    promotion = await session.get(Promotion, promotion_id)
    if promotion is None:
        raise PromotionNotFound(promotion_id)
    return promotion


async def create(session: AsyncSession, data: PromotionCreate) -> Promotion:
    promotion = Promotion(
        title=data.title.model_dump(exclude_none=True),
        subtitle=texts(data.subtitle),
        tagline=texts(data.tagline),
        cta_text=data.cta_text.model_dump(exclude_none=True),
        cta_link=data.cta_link,
        image_url=data.image_url,
        product_image_url=data.product_image_url,
        expires_at=data.expires_at,
        is_active=data.is_active,
        display_order=data.display_order,
    )
    session.add(promotion)
    await session.commit()
    return promotion


async def update(session: AsyncSession, promotion_id: str, data: PromotionUpdate) -> Promotion:
    promotion = await get(session, promotion_id)
    for name in data.model_fields_set:
        value = getattr(data, name)
        setattr(promotion, name, texts(value) if name in TEXTS else value)
    promotion.updated_at = now()
    await session.commit()
    return promotion


async def delete(session: AsyncSession, promotion_id: str) -> None:
    gone = await session.execute(sa.delete(Promotion).where(col(Promotion.id) == promotion_id))
    await session.commit()
    if getattr(gone, "rowcount", 0) != 1:
        raise PromotionNotFound(promotion_id)


async def reorder(session: AsyncSession, ordered_ids: list[str]) -> None:
    """Each listed promotion's `displayOrder` becomes its index, all in one transaction; an unknown id
    changes nothing (404 naming it). Promotions left out keep their order.
    """
    moment = now()
    missing: list[str] = []
    for position, promotion_id in enumerate(ordered_ids):
        changed = await session.execute(
            sa.update(Promotion)
            .where(col(Promotion.id) == promotion_id)
            .values(display_order=position, updated_at=moment)
            .execution_options(synchronize_session=False)
        )
        if getattr(changed, "rowcount", 0) != 1:
            missing.append(promotion_id)
    if missing:
        await session.rollback()
        raise PromotionNotFound(*missing)
    await session.commit()
