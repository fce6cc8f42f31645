"""What every service's tables share: UTC timestamps, and commits that turn a lost constraint into a 409."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit import db
from kit.errors import Conflict
from tests.support import real_server_url, scratch_database


class Base(DeclarativeBase):
    pass


class Moment(Base):
    __tablename__ = "moments"

    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    at: Mapped[datetime | None] = mapped_column(db.UTCDateTime)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "postgres":
            url = await stack.enter_async_context(
                scratch_database(real_server_url("COMMERCE_TEST_POSTGRES_URL"))
            )
        else:
            url = f"sqlite+aiosqlite:///{tmp_path}/scratch.db"
        engine = db.open_engine(url)
        stack.push_async_callback(engine.dispose)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield engine


class TestUTCDateTime:
    async def test_an_aware_moment_comes_back_aware_in_utc(self, engine: AsyncEngine) -> None:
        paris = datetime(2025, 3, 1, 13, 30, tzinfo=timezone(timedelta(hours=1)))
        async with engine.begin() as connection:
            await connection.execute(sa.insert(Moment).values(name="paris", at=paris))
            stored = await connection.scalar(sa.select(Moment.at))
        assert stored == paris
        assert stored is not None
        assert (stored.tzinfo, stored.hour) == (UTC, 12)

    async def test_a_naive_moment_is_taken_as_utc(self, engine: AsyncEngine) -> None:
        async with engine.begin() as connection:
            await connection.execute(sa.insert(Moment).values(name="naive", at=datetime(2025, 3, 1, 12)))
            stored = await connection.scalar(sa.select(Moment.at))
        assert stored == datetime(2025, 3, 1, 12, tzinfo=UTC)

    async def test_comparisons_in_sql_use_the_same_moments(self, engine: AsyncEngine) -> None:
        async with engine.begin() as connection:
            await connection.execute(sa.insert(Moment).values(name="past", at=db.now() - timedelta(hours=1)))
            found = await connection.scalar(sa.select(Moment.name).where(Moment.at < db.now()))
        assert found == "past"


class TestCommit:
    async def test_a_lost_constraint_becomes_the_given_conflict_and_rolls_back(
        self, engine: AsyncEngine
    ) -> None:
        sessions = db.session_factory(engine)
        async with db.transaction(sessions) as session:
            session.add(Moment(name="taken"))
        async with sessions() as session:
            session.add_all([Moment(name="free"), Moment(name="taken")])
            with pytest.raises(Conflict, match="taken already") as raised:
                await db.commit(session, conflict=lambda: Conflict("taken already", code="Taken"))
            assert raised.value.code == "Taken"
            assert not session.in_transaction()
        assert await _names(engine) == ["taken"]

    async def test_without_a_conflict_the_integrity_error_is_raised_after_rollback(
        self, engine: AsyncEngine
    ) -> None:
        sessions = db.session_factory(engine)
        async with db.transaction(sessions) as session:
            session.add(Moment(name="twice"))
        async with sessions() as session:
            session.add_all([Moment(name="once"), Moment(name="twice")])
            with pytest.raises(IntegrityError):
                await db.commit(session)
            assert not session.in_transaction()
        assert await _names(engine) == ["twice"]


async def _names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.scalars(sa.select(Moment.name).order_by(Moment.name))).all())
