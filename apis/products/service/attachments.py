"""A product's categories (leaves only) and images (one primary at most): added and removed, each change
committed with the product's sync signal.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products.events import Notifier
from apis.products.models import ProductCategory, ProductImage
from apis.products.schemas.products import ImageCreate
from apis.products.service.catalog import check_leaf_categories, image_rows, relink, touch
from apis.products.service.images import ImageCheck, claim
from kit.db import commit


async def add_categories(
    session: AsyncSession, notify: Notifier, product_id: str, category_ids: Sequence[uuid.UUID]
) -> int:
    """Put the product on more leaf categories; returns how many links are new."""
    await touch(session, notify, product_id)
    wanted = await check_leaf_categories(session, category_ids)
    present = set(
        (
            await session.scalars(
                sa.select(col(ProductCategory.category_id)).where(
                    col(ProductCategory.product_id) == product_id
                )
            )
        ).all()
    )
    new = [{"product_id": product_id, "category_id": c} for c in wanted if c not in present]
    if new:
        await session.execute(sa.insert(ProductCategory), new)
        await relink(session, [product_id])
    await commit(session)
    return len(new)


async def remove_categories(
    session: AsyncSession, notify: Notifier, product_id: str, category_ids: Sequence[uuid.UUID]
) -> int:
    await touch(session, notify, product_id)
    removed = await session.execute(
        sa.delete(ProductCategory).where(
            col(ProductCategory.product_id) == product_id,
            col(ProductCategory.category_id).in_([str(c) for c in category_ids]),
        )
    )
    count: int = getattr(removed, "rowcount", 0)
    if count == 0:
        await session.rollback()  # nothing changed: nothing to announce
        return 0
    await relink(session, [product_id])  # another link may now be the first under its root
    await commit(session)
    return count


async def add_images(
    session: AsyncSession, notify: Notifier, check: ImageCheck, product_id: str, images: Sequence[ImageCreate]
) -> int:
    """Append images (ours must be stored: `claim`); a new primary image replaces the old one."""
    await touch(session, notify, product_id)
    names = await claim(session, check, [image.image_url for image in images])
    if any(image.is_primary for image in images):
        await session.execute(
            sa.update(ProductImage).where(col(ProductImage.product_id) == product_id).values(is_primary=False)
        )
    last = await session.scalar(
        sa.select(sa.func.max(col(ProductImage.position))).where(col(ProductImage.product_id) == product_id)
    )
    first = 0 if last is None else last + 1
    rows = image_rows(product_id, images, names=names, first_position=first)
    await session.execute(sa.insert(ProductImage), rows)
    await commit(session)
    return len(images)


async def remove_images(
    session: AsyncSession, notify: Notifier, product_id: str, image_ids: Sequence[uuid.UUID]
) -> int:
    await touch(session, notify, product_id)
    removed = await session.execute(
        sa.delete(ProductImage).where(
            col(ProductImage.product_id) == product_id, col(ProductImage.id).in_([str(i) for i in image_ids])
        )
    )
    count: int = getattr(removed, "rowcount", 0)
    if count == 0:
        await session.rollback()
        return 0
    await commit(session)
    return count
