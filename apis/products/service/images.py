"""Images of our images service on products: checked to exist when attached, and counted when the images
service is about to delete one (it refuses while a live product shows the image).

Attaching and counting take turns on the image's `image_lock` row, which each writes first in its
transaction: on PostgreSQL the second waits for the first to commit (a row lock), on SQLite writers take
turns anyway. So a count never misses an attachment whose existence check already passed, and an
attachment checked after the images service hid the image finds it gone (images/service.py `delete`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products import reads
from apis.products.errors import UnknownImage
from apis.products.models import ImageLock, Product, ProductImage
from contracts.images import ImagesClient, image_name
from kit import db
from kit.db import commit


@dataclass(frozen=True)
class ImageCheck:
    """The images service and the origin its URLs carry (`COMMERCE_IMAGES_PUBLIC_URL`)."""

    client: ImagesClient
    public_url: str


async def _lock(session: AsyncSession, names: Iterable[str]) -> None:
    rows = [{"name": name} for name in sorted(set(names))]  # one order: no deadlock between two lockers
    if not rows:
        return
    insert = db.insert(session, ImageLock).values(rows)
    upsert = insert.on_conflict_do_update(index_elements=["name"], set_={"name": insert.excluded.name})
    await session.execute(upsert)


async def claim(session: AsyncSession, check: ImageCheck, urls: Iterable[str]) -> dict[str, str]:
    """Lock the images of ours among `urls` in the caller's transaction and make sure each is stored
    (UnknownImage otherwise); answers url -> image name, for `image_rows`.
    """
    names = {url: name for url in urls if (name := image_name(url, check.public_url))}
    await _lock(session, names.values())
    for url, name in names.items():
        if not await check.client.exists(name):
            await session.rollback()
            raise UnknownImage(url)
    return names


async def uses(session: AsyncSession, names: Iterable[str]) -> dict[str, list[str]]:
    """The live (not archived) products showing each image, once every attachment in flight committed."""
    wanted = sorted(set(names))
    await _lock(session, wanted)
    rows = await session.execute(
        sa.select(col(ProductImage.image_name), col(ProductImage.product_id))
        .join(Product, col(Product.id) == col(ProductImage.product_id))
        .where(col(ProductImage.image_name).in_(wanted), reads.NOT_ARCHIVED)
        .distinct()
    )
    found: dict[str, list[str]] = defaultdict(list)
    for name, product_id in rows:
        found[str(name)].append(product_id)
    await commit(session)
    return {name: sorted(ids) for name, ids in found.items()}
