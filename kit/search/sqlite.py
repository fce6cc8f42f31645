"""The embedded search index: one SQLite file (WAL), FTS5 for text, plain tables for the rest.

URL: `sqlite:///relative/search.db` or `sqlite:////absolute/search.db` (SQLAlchemy's convention); the
parent folders are created.

- `sqlite_schema.py`: the tables (products, their variants' prices, category slugs, attribute pairs and
  documents; an FTS5 table of the folded texts; the words a typo may have meant) and every write.
- `sqlite_reads.py`: search, suggest and stamps, each in one read snapshot.
- `sqlite_bitmaps.py`: the readers' cache of the tables as bitmaps, which filters, facets and pages use.

Every table of one generation is named `g<generation>_...` and `search_meta` names the current generation.
`rebuild` fills the next generation, then in one transaction points `search_meta` at it and drops the old
one; a reader reads the generation and its tables in one snapshot, so it never sees a half-built index.
Live writes during a rebuild go to both generations, and the rebuild's batches skip the products they
wrote (a batch read from the catalog before such a write would bring an older document back).

Queries run on a few reader threads (a connection each: WAL lets them read while a write commits) and
writes on one writer thread, in order, so any number of tasks of one process may share an index.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy.engine import make_url

from kit.search import SearchDocument, SearchPage, SearchQuery
from kit.search import sqlite_reads as reads
from kit.search import sqlite_schema as schema
from kit.search.sqlite_bitmaps import BitmapCache

T = TypeVar("T")
READERS = 4  # concurrent queries; more wait for a free reader


def path_of(url: str) -> Path:
    """`sqlite:///a/b.db` is the relative `a/b.db`, `sqlite:////a/b.db` the absolute `/a/b.db`."""
    database = make_url(url).database  # SQLAlchemy's reading, as for the services' databases
    if not database:
        raise ValueError(f"no file in search URL {url!r}")
    return Path(database)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    for pragma in (
        "journal_mode = WAL",
        "synchronous = NORMAL",  # an index is rebuilt from the catalog: durable enough
        "temp_store = MEMORY",
        "mmap_size = 1073741824",  # the file's pages shared by the connections (100k products: 300 MB)
        "cache_size = -8192",
    ):
        connection.execute(f"PRAGMA {pragma}")
    return connection


class SqliteSearch:
    """A client of one index file; open it with `async with`."""

    def __init__(self, url: str) -> None:
        self._path = path_of(url)
        self._readers: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._local = threading.local()  # each thread's connection
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._rebuilding = asyncio.Lock()
        self._bitmaps = BitmapCache()
        # Touched by the writer thread only: the generation being built, and what live writes changed.
        self._building: int | None = None
        self._written_live: set[str] = set()

    async def __aenter__(self) -> Self:
        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old for the search index (3.35+)")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="search-read")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="search-write")
        await self._run(self._writer, self._connection)  # the file exists, in WAL mode, once open
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        executors = [e for e in (self._readers, self._writer) if e is not None]
        self._readers = self._writer = None
        for executor in executors:
            await asyncio.to_thread(executor.shutdown)
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    async def ensure(self) -> None:
        await self._write(schema.ensure)
        await self._read(self._bitmaps.get)  # loaded before the first query needs them

    async def ping(self) -> None:
        await self._read(lambda connection, generation: None)

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if documents:
            await self._write(partial(self._upsert_live, list(documents)))

    async def delete(self, product_ids: Sequence[str]) -> None:
        if product_ids:
            await self._write(partial(self._delete_live, list(product_ids)))

    async def search(self, query: SearchQuery) -> SearchPage:
        return await self._read(partial(reads.search, query, self._bitmaps))

    async def suggest(self, prefix: str, *, language: str, limit: int = 10) -> list[str]:
        return await self._read(partial(reads.suggest, prefix, language, limit))

    async def stamps(self) -> dict[str, datetime]:
        return await self._read(reads.stamps)

    async def rebuild(self, batches: AsyncIterable[Sequence[SearchDocument]]) -> int:
        async with self._rebuilding:
            generation = await self._write(self._start_building)
            try:
                indexed = 0
                async for batch in batches:
                    await self._write(partial(self._fill, generation, list(batch)))
                    indexed += len(batch)
                await self._write(partial(self._swap, generation))
            except BaseException:
                await self._write(partial(self._abandon, generation))
                raise
            await self._read(self._bitmaps.get)
            return indexed

    # The writer thread's work: each call runs in one transaction.

    def _upsert_live(self, documents: list[SearchDocument], connection: sqlite3.Connection) -> None:
        rows, version = schema.rows_of(documents), schema.next_version(connection)
        for generation in self._live(connection, [document.id for document in documents]):
            schema.put(connection, generation, rows, version)

    def _delete_live(self, product_ids: list[str], connection: sqlite3.Connection) -> None:
        version = schema.next_version(connection)
        for generation in self._live(connection, product_ids):
            schema.remove(connection, generation, product_ids, version)

    def _live(self, connection: sqlite3.Connection, product_ids: list[str]) -> list[int]:
        """The generations a live write goes to: the current one, and the one a rebuild fills."""
        if self._building is None:
            return [schema.current(connection)]
        self._written_live.update(product_ids)
        return [schema.current(connection), self._building]

    def _start_building(self, connection: sqlite3.Connection) -> int:
        current = schema.current(connection)
        for leftover in schema.generations(connection) - {current}:  # of a rebuild that died
            schema.drop(connection, leftover)
        generation = current + 1
        schema.create(connection, generation)
        self._building, self._written_live = generation, set()
        return generation

    def _fill(self, generation: int, documents: list[SearchDocument], connection: sqlite3.Connection) -> None:
        fresh = [document for document in documents if document.id not in self._written_live]
        schema.put(connection, generation, schema.rows_of(fresh), schema.next_version(connection))

    def _swap(self, generation: int, connection: sqlite3.Connection) -> None:
        old = schema.current(connection)
        schema.make_current(connection, generation)
        schema.drop(connection, old)
        self._building, self._written_live = None, set()

    def _abandon(self, generation: int, connection: sqlite3.Connection) -> None:
        if generation != schema.current(connection):
            schema.drop(connection, generation)
        self._building, self._written_live = None, set()

    # Threads and transactions.

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to the file, opened on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _connect(self._path)
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    async def _run(self, executor: ThreadPoolExecutor | None, work: Callable[[], T]) -> T:
        if executor is None:
            raise RuntimeError("the search index is not open")
        return await asyncio.get_running_loop().run_in_executor(executor, work)

    async def _read(self, work: Callable[[sqlite3.Connection, int], T]) -> T:
        """`work(connection, generation)` on a reader, in one snapshot of the file."""
        return await self._run(self._readers, partial(self._in_snapshot, work))

    def _in_snapshot(self, work: Callable[[sqlite3.Connection, int], T]) -> T:
        connection = self._connection()
        connection.execute("BEGIN")
        try:
            return work(connection, schema.current(connection))
        finally:
            if connection.in_transaction:  # an error may have ended it
                connection.execute("ROLLBACK")

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` on the writer thread, in one transaction, committed before returning."""
        return await self._run(self._writer, partial(self._in_transaction, work))

    def _in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection)
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result
