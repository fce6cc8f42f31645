"""The reindex as a job of the search service: started by a request that answers at once (202), run in the
background, one at a time, its progress read by polling. A rebuild of a large catalog takes longer than a
gateway waits for an answer; the request that starts it must not be what holds it.

Not durable: a reindex cut short by a restart leaves the old index answering (the rebuild swaps only at
its end) and is started again by asking again; the hourly reconcile repairs drift meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from apis.search import indexing
from contracts.products import ProductsClient
from contracts.search import REINDEX_FAILED, REINDEX_FINISHED, REINDEX_RUNNING
from kit.db import now
from kit.search import SearchIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReindexRun:
    status: str  # REINDEX_RUNNING, REINDEX_FINISHED or REINDEX_FAILED
    started_at: datetime
    finished_at: datetime | None = None
    indexed: int | None = None
    error: str | None = None


class Reindexer:
    """At most one reindex of the service's index at a time; `last` is the latest one started."""

    def __init__(self, index: SearchIndex, catalog: ProductsClient) -> None:
        self._index, self._catalog = index, catalog
        self._task: asyncio.Task[None] | None = None
        self.last: ReindexRun | None = None

    def start(self) -> ReindexRun:
        """A new reindex, or the one already running (asking twice starts one)."""
        if self.last is not None and self.last.status == REINDEX_RUNNING:
            return self.last
        self.last = ReindexRun(status=REINDEX_RUNNING, started_at=now())
        self._task = asyncio.create_task(self._run(self.last), name="search-reindex")
        return self.last

    async def _run(self, run: ReindexRun) -> None:
        try:
            indexed = await indexing.reindex(self._index, self._catalog)
        except Exception as failure:
            log.exception("reindex failed")
            self.last = replace(run, status=REINDEX_FAILED, finished_at=now(), error=repr(failure)[:500])
        else:
            self.last = replace(run, status=REINDEX_FINISHED, finished_at=now(), indexed=indexed)

    async def close(self) -> None:
        """Stop a reindex in progress (its half-built generation is dropped; the old one stays)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
