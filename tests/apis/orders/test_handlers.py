"""Local copies of users and products, kept from the bus: each event applied once, history kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.orders import handlers
from apis.orders.app import MIGRATIONS
from apis.orders.models import CustomerCopy, HandledEvent, ProductCopy
from kit import db
from kit.bus import Event


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.open_engine(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    await db.migrate(engine, MIGRATIONS)
    yield db.session_factory(engine)
    await engine.dispose()


def user_event(kind: str, **payload: object) -> Event:
    return Event(
        type=kind, payload={"id": "u1", **payload}, source_service="auth", topic="auth_events", key="u1"
    )


async def test_a_created_then_updated_user_is_copied_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    handle = handlers.once(sessions)
    created = user_event("USER_CREATED", name="Ann", email="ann@example.com")
    await handle(created)
    await handle(created)  # redelivered
    await handle(user_event("USER_UPDATED", name="Ann B.", email="ann@example.com", profileImage="/a.png"))
    async with sessions() as session:
        customer = await session.get(CustomerCopy, "u1")
        handled = await session.scalar(sa.select(sa.func.count()).select_from(HandledEvent))
    assert customer is not None
    assert (customer.name, customer.profile_image, customer.is_active) == ("Ann B.", "/a.png", True)
    assert handled == 2


async def test_a_deactivated_user_keeps_their_copy(sessions: async_sessionmaker[AsyncSession]) -> None:
    handle = handlers.once(sessions)
    await handle(user_event("USER_CREATED", name="Ann", email="ann@example.com"))
    await handle(user_event("USER_DELETED"))
    async with sessions() as session:
        customer = await session.get(CustomerCopy, "u1")
    assert customer is not None
    assert customer.is_active is False


async def test_products_are_copied_and_marked_deleted(sessions: async_sessionmaker[AsyncSession]) -> None:
    handle = handlers.once(sessions)
    document = {"id": "p1", "sku": "SKU-1", "name": {"en": "Shoe"}, "primaryImageUrl": "/shoe.png"}
    await handle(
        Event(
            type="PRODUCT_CREATED",
            payload=document,
            source_service="products",
            topic="product_events",
            key="p1",
        )
    )
    await handle(
        Event(
            type="PRODUCT_DELETED",
            payload={"id": "p1"},
            source_service="products",
            topic="product_events",
            key="p1",
        )
    )
    async with sessions() as session:
        product = await session.get(ProductCopy, "p1")
    assert product is not None
    assert (product.sku, product.image_url, product.is_deleted) == ("SKU-1", "/shoe.png", True)


def versioned_user_event(kind: str, version: int | None, **payload: object) -> Event:
    return user_event(kind, **payload).model_copy(update={"version": version})


async def test_a_late_user_updated_does_not_overwrite_a_newer_copy(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    newer = versioned_user_event("USER_UPDATED", 2_000, name="Ann New", email="ann@example.com")
    older = versioned_user_event("USER_UPDATED", 1_000, name="Ann Old", email="ann@example.com")
    await handle(newer)
    await handle(older)  # late: published first, delivered second (or replayed from the dead letters)
    await handle(versioned_user_event("USER_CREATED", None, name="Ann First", email="ann@example.com"))
    async with sessions() as session:
        customer = await session.get(CustomerCopy, "u1")
    assert customer is not None
    assert (customer.name, customer.version) == ("Ann New", 2_000)


async def test_a_late_deactivation_does_not_undo_a_newer_activation(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    await handle(versioned_user_event("USER_UPDATED", 3_000, name="Ann", email="ann@example.com"))
    await handle(versioned_user_event("USER_DELETED", 2_000))
    async with sessions() as session:
        customer = await session.get(CustomerCopy, "u1")
    assert customer is not None
    assert customer.is_active is True


def product_event(kind: str, **document: object) -> Event:
    return Event(
        type=kind,
        payload={"id": "p1", "sku": "SKU-1", **document},
        source_service="products",
        topic="product_events",
        key="p1",
    )


async def test_a_late_product_document_does_not_overwrite_a_newer_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    await handle(product_event("PRODUCT_UPDATED", name={"en": "New"}, updatedAt="2025-01-02T03:04:06Z"))
    await handle(product_event("PRODUCT_UPDATED", name={"en": "Old"}, updatedAt="2025-01-02T03:04:05.5Z"))
    await handle(product_event("PRODUCT_DELETED"))
    await handle(product_event("PRODUCT_UPDATED", name={"en": "Later"}, updatedAt="2025-01-03T00:00:00Z"))
    async with sessions() as session:
        product = await session.get(ProductCopy, "p1")
    assert product is not None
    assert (product.name, product.is_deleted) == ({"en": "New"}, True)


async def test_the_copy_keeps_the_users_language_and_an_event_without_one_leaves_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    await handle(user_event("USER_CREATED", name="Ann", email="ann@example.com", language="fr"))
    async with sessions() as session:
        assert (await session.get(CustomerCopy, "u1")).language == "fr"  # type: ignore[union-attr]
    await handle(user_event("USER_UPDATED", name="Ann B.", email="ann@example.com"))  # from before languages
    async with sessions() as session:
        assert (await session.get(CustomerCopy, "u1")).language == "fr"  # type: ignore[union-attr]
    await handle(user_event("USER_UPDATED", name="Ann B.", email="ann@example.com", language="ar"))
    async with sessions() as session:
        assert (await session.get(CustomerCopy, "u1")).language == "ar"  # type: ignore[union-attr]
