"""The SQL port: one async engine per service database, sessions per request, Alembic migrations, and
what every service's tables share (UTC timestamps, ids).

SQLite (aiosqlite) is the embedded default and PostgreSQL (asyncpg) the real one; the URL picks.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, registry
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from kit import tracing
from kit.errors import AppError


def now() -> datetime:
    """The current moment, timezone-aware in UTC: what every timestamp column stores."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new row id: a UUID string, as the seed's ids are."""
    return str(uuid.uuid4())


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A `TIMESTAMP WITH TIME ZONE` stored in UTC and always read back aware in UTC (SQLite, which keeps
    no zone, would hand back naive ones). A naive value written is taken as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def service_registry(*shared: type[SQLModel]) -> registry:
    """The registry of one service's tables, for its base (`class Base(SQLModel, registry=...)`): its own
    `MetaData`, so its `create_all` and Alembic see only its tables and two services may name a table
    alike, holding a copy of each kit table it also keeps (`shared`: the outbox).
    """
    tables = registry()
    for model in shared:
        table = sa.inspect(model).local_table
        assert isinstance(table, sa.Table)
        table.to_metadata(tables.metadata)
    return tables


def insert(session: AsyncSession, model: type[Any]) -> Any:
    """An INSERT of `model` in the session's dialect, for its `on_conflict_do_nothing` / `_do_update`
    (PostgreSQL and SQLite spell an upsert alike, but each through its own dialect's construct).
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def open_engine(url: str) -> AsyncEngine:
    """An engine tuned for its backend: SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        engine = create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
        tracing.instrument_engine(engine)
        return engine
    memory = parsed.database in (None, "", ":memory:")
    if not memory and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        connect_args={"timeout": 30},
        **({"poolclass": StaticPool} if memory else {}),
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    tracing.instrument_engine(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def session_factory(
    engine: AsyncEngine, on_commit: Callable[[], None] | None = None, *, writing: type | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects outlive commit; `on_commit` runs after each commit (the outbox wake-up), or
    with `writing`, only after a commit that added an instance of it (a commit adding no outbox row gives
    the relay nothing to deliver, and a pass for nothing costs a claim's query).
    """
    if on_commit is None:
        return async_sessionmaker(engine, expire_on_commit=False)

    class NotifyingSession(Session):
        """This factory's sessions only: a listener on `Session` itself would hear every session of the
        process, the relay's own included, and keep the relay waking itself up.
        """

    def flushed(session: Session, _context: Any) -> None:
        if writing is None or any(isinstance(instance, writing) for instance in session.new):
            session.info[_WROTE] = True

    def committed(session: Session) -> None:
        if session.info.pop(_WROTE, False):
            on_commit()

    event.listen(NotifyingSession, "after_flush", flushed)
    event.listen(NotifyingSession, "after_commit", committed)
    event.listen(NotifyingSession, "after_rollback", lambda session: session.info.pop(_WROTE, None))
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=NotifyingSession)


_WROTE = "commerce.wrote"  # a session's flag: this transaction wrote what its factory's `on_commit` awaits


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# Alembic keeps the running migration in module globals (`alembic.context`), so services sharing a
# process (the embedded platform) must migrate one at a time.
_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def migrate(engine: AsyncEngine, migrations: Path, revision: str = "head") -> None:
    """Bring the service's database to `revision` with the Alembic scripts in `migrations`. A database
    already at the scripts' heads is left as it is without importing Alembic (half a CPU-second of a
    service's start, all its dialects included): every start but the first after a new script.
    """
    lock = _migration_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock, engine.begin() as connection:
        if revision == "head" and await connection.run_sync(_at_heads, migrations):
            return
        await connection.run_sync(_upgrade, migrations, revision)


_REVISION = re.compile(r'^revision = "([^"]+)"$', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision = (?:None|"([^"]+)")$', re.MULTILINE)


def script_heads(migrations: Path) -> set[str] | None:
    """The revisions no script follows, read from each script's plain `revision = "..."` and
    `down_revision = "..." | None` lines; None when a script says them otherwise (Alembic then decides).
    """
    revisions, followed = set(), set()
    for script in (migrations / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision[1])
        if down[1] is not None:
            followed.add(down[1])
    return (revisions - followed) or None


def _at_heads(connection: Connection, migrations: Path) -> bool:
    heads = script_heads(migrations)
    if heads is None or not sa.inspect(connection).has_table("alembic_version"):
        return False
    stamped = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    return stamped == heads


def _upgrade(connection: Connection, migrations: Path, revision: str) -> None:
    from alembic import command  # only when a migration runs: see `migrate`
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@contextlib.asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success and rolls back on any error."""
    async with factory() as session, session.begin():
        yield session


async def commit(session: AsyncSession, *, conflict: Callable[[], AppError] | None = None) -> None:
    """Commit; a constraint lost to a concurrent writer rolls back and raises `conflict()` (a 4xx, not a
    500), or, without `conflict`, the `IntegrityError` itself for the caller to explain.
    """
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if conflict is None:
            raise
        raise conflict() from exc


async def flush(session: AsyncSession, *, conflict: Callable[[], AppError]) -> None:
    """Write pending changes now (ids, constraints) with the same translation as `commit`."""
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise conflict() from exc
