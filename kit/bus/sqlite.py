"""The embedded bus, durable: each topic's log and each group's committed offset live in one SQLite file,
so an event the bus accepted but no handler committed yet survives the death of the process.

URL: `sqlite:///relative/bus.db` or `sqlite:////absolute/bus.db` (SQLAlchemy's convention), optionally
`?retention_days=7` (older events are dropped when a bus opens, as Kafka's retention would). Consumers in
this process wake on each publication; those of another process sharing the file poll. One active member
per group and topic, as with Kafka, holds within a process; run each group in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

import aiosqlite

from kit import tracing
from kit.bus import (
    DEFAULT_RETRY,
    Consumers,
    Event,
    HandledIds,
    Handler,
    Memberships,
    Retry,
    handle_with_retry,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    data BLOB NOT NULL,
    stored_at REAL NOT NULL,
    headers TEXT
);
CREATE INDEX IF NOT EXISTS events_by_topic ON events (topic, seq);
CREATE TABLE IF NOT EXISTS offsets (
    grp TEXT NOT NULL,
    topic TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (grp, topic)
);
"""
BATCH = 100
POLL_SECONDS = 0.5  # how soon a consumer sees what another process published


@dataclass
class _Local:
    """What the buses of one file share inside one event loop: wake-ups and group memberships."""

    wakeups: set[asyncio.Event] = field(default_factory=set)
    members: Memberships = field(default_factory=Memberships)

    def wake(self) -> None:
        for wakeup in self.wakeups:
            wakeup.set()


_locals: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, _Local]] = (
    weakref.WeakKeyDictionary()
)


def path_of(url: str) -> Path:
    """`sqlite:///a/b.db` is the relative `a/b.db`, `sqlite:////a/b.db` the absolute `/a/b.db`."""
    path = urlsplit(url).path.removeprefix("/")
    if not path:
        raise ValueError(f"no file in bus URL {url!r}")
    return Path(path)


class SqliteBus:
    """A client of the bus file; closing it stops its consumers without committing."""

    def __init__(self, url: str, *, retry: Retry = DEFAULT_RETRY) -> None:
        self._path = path_of(url)
        retention = parse_qs(urlsplit(url).query).get("retention_days", ["7"])[0]
        self._retention_seconds = float(retention) * 86_400
        self._retry = retry
        self._consumers = Consumers(retry, lag=self._lag)
        self._subscriptions: set[tuple[str, str]] = set()
        self._db: aiosqlite.Connection | None = None
        self._writing = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the bus is not open")
        return self._db

    @property
    def _local(self) -> _Local:
        shared = _locals.setdefault(asyncio.get_running_loop(), {})
        return shared.setdefault(self._path.resolve(), _Local())

    async def _write(self, sql: str, parameters: Sequence[object]) -> None:
        """One statement in its own transaction, committed (synchronous=FULL) before returning. The
        connection is in autocommit mode, so the write lock is taken and given back inside the one call on
        SQLite's thread: a transaction left open across an `await` (the event loop busy elsewhere, say a
        worker importing its workflows) would make every other connection's write wait, then fail with
        `database is locked`.
        """
        async with self._writing:
            await self.db.execute(sql, parameters)

    async def publish(self, event: Event) -> None:
        with tracing.producing(event) as headers:
            await self._write(
                "INSERT INTO events (topic, key, data, stored_at, headers) VALUES (?, ?, ?, ?, ?)",
                (
                    event.topic,
                    event.key,
                    event.to_wire(),
                    time.time(),
                    json.dumps(headers) if headers else None,
                ),
            )
        self._local.wake()

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        handled = HandledIds()
        for topic in topics:
            self._subscriptions.add((group, topic))
            consumer = f"{group}:{topic}"
            self._consumers.start(consumer, partial(self._consume, consumer, group, topic, handler, handled))

    async def _consume(
        self, consumer: str, group: str, topic: str, handler: Handler, handled: HandledIds
    ) -> None:
        local, wakeup = self._local, asyncio.Event()
        self._consumers.running(consumer)
        async with local.members.hold(group, topic):
            local.wakeups.add(wakeup)
            try:
                committed = await self._committed(group, topic)
                while True:
                    wakeup.clear()  # before reading: a publication after the read wakes us
                    rows = await self._after(topic, committed)
                    for seq, key, data, headers in rows:
                        event = Event.from_wire(topic, key, data, headers)
                        await handle_with_retry(self, group, event, handler, handled, self._retry)
                        await self._write(
                            "INSERT OR REPLACE INTO offsets (grp, topic, seq) VALUES (?, ?, ?)",
                            (group, topic, seq),
                        )
                        committed = seq
                    if not rows:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(wakeup.wait(), POLL_SECONDS)
            finally:
                local.wakeups.discard(wakeup)

    async def _committed(self, group: str, topic: str) -> int:
        async with self.db.execute(
            "SELECT seq FROM offsets WHERE grp = ? AND topic = ?", (group, topic)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _after(
        self, topic: str, seq: int, limit: int = BATCH
    ) -> list[tuple[int, str, bytes, dict[str, str]]]:
        async with self.db.execute(
            "SELECT seq, key, data, headers FROM events WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?",
            (topic, seq, limit),
        ) as cursor:
            return [
                (int(s), str(k), bytes(d), json.loads(h) if h else {})
                for s, k, d, h in await cursor.fetchall()
            ]

    async def _lag(self) -> dict[tuple[str, str], int]:
        lag = {}
        for group, topic in self._subscriptions:
            committed = await self._committed(group, topic)
            async with self.db.execute(
                "SELECT COUNT(*) FROM events WHERE topic = ? AND seq > ?", (topic, committed)
            ) as cursor:
                row = await cursor.fetchone()
            lag[(group, topic)] = int(row[0]) if row else 0
        return lag

    async def ping(self) -> None:
        async with self.db.execute("SELECT 1") as cursor:
            await cursor.fetchone()

    def down_consumers(self) -> dict[str, str]:
        return dict(self._consumers.down)

    async def topics(self) -> list[str]:
        async with self.db.execute("SELECT DISTINCT topic FROM events ORDER BY topic") as cursor:
            return [str(row[0]) for row in await cursor.fetchall()]

    async def read(self, topic: str) -> list[Event]:
        events: list[Event] = []
        seq = 0
        while rows := await self._after(topic, seq, limit=1000):
            events.extend(Event.from_wire(topic, key, data, headers) for _, key, data, headers in rows)
            seq = rows[-1][0]
        return events

    async def __aenter__(self) -> Self:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self._path, isolation_level=None)
        await self._db.execute("PRAGMA busy_timeout=30000")
        await self._wal()
        await self._db.execute("PRAGMA synchronous=FULL")
        await self._db.executescript(SCHEMA)
        await self._add_headers_column()
        await self._write("DELETE FROM events WHERE stored_at < ?", (time.time() - self._retention_seconds,))
        return self

    async def _wal(self) -> None:
        """Switch the file to WAL. SQLite may refuse that at once with "database is locked", without waiting
        on the busy timeout, while another process opening the same bus holds its lock (every service of
        the embedded platform opens it at start): wait a little and try again."""
        for attempt in range(60):
            try:
                await self.db.execute("PRAGMA journal_mode=WAL")
                return
            except aiosqlite.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 59:
                    raise
                await asyncio.sleep(0.5)

    async def _add_headers_column(self) -> None:
        """A bus file from before events had headers gains their column (empty for its old events)."""
        async with self.db.execute("PRAGMA table_info(events)") as cursor:
            columns = {str(row[1]) for row in await cursor.fetchall()}
        if "headers" not in columns:
            with contextlib.suppress(aiosqlite.OperationalError):  # another process added it first
                await self._write("ALTER TABLE events ADD COLUMN headers TEXT", ())

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._consumers.stop()
        if self._db is not None:
            await self._db.close()
            self._db = None
