"""The reviews' figures of a product, from REVIEW_UPDATED: stored only when newer than those it holds (a
redelivered or overtaken event changes nothing), each stored change republishing the product; an archived
product takes none. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from apis.products import handlers
from apis.products.app import MIGRATIONS
from apis.products.events import Notifier
from apis.products.models import Product
from contracts.reviews import RatingFigures
from kit import db
from kit.bus import Event, open_bus
from kit.db import now
from kit.outbox import OutboxMessage
from tests.support import BOTH_DATABASES, scratch_engine


@pytest.fixture(params=BOTH_DATABASES)
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with scratch_engine(request.param, tmp_path, MIGRATIONS) as engine:
        yield db.session_factory(engine)


async def a_product(sessions: async_sessionmaker[AsyncSession], *, archived: bool = False) -> str:
    product = Product(
        sku=f"SKU-{uuid.uuid4().hex[:8]}", name={"en": "Lamp"}, archived_at=now() if archived else None
    )
    async with sessions() as session:
        session.add(product)
        await session.commit()
    return product.id


async def apply(
    sessions: async_sessionmaker[AsyncSession], product_id: str, average: float, count: int, version: int
) -> bool:
    figures = RatingFigures(
        product_id=product_id, average_rating=average, review_count=count, version=version
    )
    async with sessions() as session, session.begin():
        return await handlers.apply_figures(session, Notifier(), figures)


async def state(sessions: async_sessionmaker[AsyncSession], product_id: str) -> tuple[float, int, int]:
    async with sessions() as session:
        product = await session.get_one(Product, product_id)
        syncs = await session.execute(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(col(OutboxMessage.kind) == "workflow")
        )
        return product.average_rating, product.review_count, int(syncs.scalar_one())


async def test_only_newer_figures_are_stored_and_each_stored_one_republishes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product_id = await a_product(sessions)
    assert await apply(sessions, product_id, 4.5, 2, version=20)
    assert not await apply(sessions, product_id, 4.5, 2, version=20)  # redelivered
    assert not await apply(sessions, product_id, 5.0, 1, version=10)  # overtaken
    assert await state(sessions, product_id) == (4.5, 2, 1)
    assert await apply(sessions, product_id, 3.0, 3, version=30)
    assert await state(sessions, product_id) == (3.0, 3, 2)


async def test_an_archived_or_unknown_product_takes_no_figures(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    archived = await a_product(sessions, archived=True)
    assert not await apply(sessions, archived, 4.0, 1, version=1)
    assert not await apply(sessions, str(uuid.uuid4()), 4.0, 1, version=1)
    assert await state(sessions, archived) == (0.0, 0, 0)


async def test_the_consumer_applies_review_updated_from_the_bus(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product_id = await a_product(sessions)
    payload = {"productId": product_id, "averageRating": 4.0, "reviewCount": 1, "version": 7}
    async with open_bus(f"memory://{uuid.uuid4().hex}") as bus:
        handlers.subscribe(bus, sessions, Notifier())
        for _ in range(2):  # the same event twice: stored once
            await bus.publish(
                Event(
                    id="e1",
                    type="REVIEW_UPDATED",
                    payload=payload,
                    source_service="reviews",
                    topic="review_events",
                    key=product_id,
                )
            )
        for _ in range(100):
            if (await state(sessions, product_id))[1] == 1:
                break
            await asyncio.sleep(0.05)
    assert await state(sessions, product_id) == (4.0, 1, 1)
