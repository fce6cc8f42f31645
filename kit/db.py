"""The SQL port: one async engine per service database, sessions per request, Alembic migrations.

SQLite (aiosqlite) is the embedded default and PostgreSQL (asyncpg) the real one; the URL picks.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool


def open_engine(url: str) -> AsyncEngine:
    """An engine tuned for its backend: SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    memory = parsed.database in (None, "", ":memory:")
    if not memory and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        connect_args={"timeout": 30},
        **({"poolclass": StaticPool} if memory else {}),
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def session_factory(
    engine: AsyncEngine, on_commit: Callable[[], None] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects outlive commit; `on_commit` runs after each commit (the outbox wake-up)."""
    if on_commit is None:
        return async_sessionmaker(engine, expire_on_commit=False)

    class NotifyingSession(Session):
        """This factory's sessions only: a listener on `Session` itself would hear every session of the
        process, the relay's own included, and keep the relay waking itself up.
        """

    event.listen(NotifyingSession, "after_commit", lambda _session: on_commit())
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=NotifyingSession)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# Alembic keeps the running migration in module globals (`alembic.context`), so services sharing a
# process (the embedded platform) must migrate one at a time.
_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def migrate(engine: AsyncEngine, migrations: Path, revision: str = "head") -> None:
    """Bring the service's database to `revision` with the Alembic scripts in `migrations`."""
    lock = _migration_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock, engine.begin() as connection:
        await connection.run_sync(_upgrade, migrations, revision)


def _upgrade(connection: Connection, migrations: Path, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@contextlib.asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success and rolls back on any error."""
    async with factory() as session, session.begin():
        yield session
