"""A reindex reads the whole catalog page by page and swaps the new index in at once: searches made while it
runs answer the old products, never an empty or half-built index. A reconcile repairs what drifted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from apis.search import indexing
from apis.search.reindexing import Reindexer
from contracts.products import ProductsClient, ProductStamp
from contracts.search import REINDEX_FAILED, REINDEX_FINISHED, REINDEX_RUNNING, Drift
from kit.search import SearchIndex, SearchQuery, open_search
from kit.settings import Settings
from tests.support import eventually

UPDATED = datetime(2026, 1, 3, 3, 4, 5, 123456, tzinfo=UTC)  # microseconds: engines keep milliseconds


def document(
    number: int, *, active: bool = True, updated: str = "2026-01-03T03:04:05.123456Z"
) -> dict[str, Any]:
    return {
        "id": f"p{number:03d}",
        "sku": f"LAMP-{number:03d}",
        "name": {"en": f"Desk lamp {number}"},
        "description": {"en": "A lamp."},
        "isActive": active,
        "createdAt": "2026-01-02T03:04:05Z",
        "updatedAt": updated,
        "category_names": [{"en": "Lamps"}],
        "category_slugs": ["lamps"],
        "category_parent_slugs": ["lighting"],
        "variants": [
            {"id": f"v{number}", "attributes": {"Color": "Black"}, "price": "19.99", "stockQuantity": 2}
        ],
    }


class SlowCatalog(ProductsClient):
    """The products service's internal reads, held in memory, each page taking a while."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.known = {d["id"]: d for d in documents}
        self.pages: list[list[str]] = []

    async def stamps(self, *, after: str | None = None, limit: int = 1000) -> list[ProductStamp]:
        page = [i for i in sorted(self.known) if after is None or i > after][:limit]
        self.pages.append(page)
        await asyncio.sleep(0.05)
        return [ProductStamp(i, UPDATED, self.known[i]["isActive"]) for i in page]

    async def documents(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {i: self.known[i] for i in product_ids if i in self.known}


@pytest.fixture
async def index(search_settings: Settings) -> AsyncIterator[SearchIndex]:
    """The service's index on each engine (the conftest's `search_settings`), empty."""
    async with open_search(search_settings.search_url) as opened:
        await opened.ensure()
        yield opened


async def lamps(index: SearchIndex) -> list[str]:
    page = await index.search(SearchQuery(category="lighting", sort_by="createdAt", limit=100))
    return sorted(str(hit["id"]) for hit in page.hits)


async def test_a_reindex_pages_the_catalog_and_swaps_with_no_empty_moment(index: SearchIndex) -> None:
    await indexing.index_documents(index, [document(n) for n in range(1, 4)] + [document(99)])
    before = await lamps(index)
    catalog = SlowCatalog([document(n) for n in range(1, 8)] + [document(8, active=False)])
    answers: list[list[str]] = []

    async def keep_searching() -> None:
        while not reindexing.done():
            answers.append(await lamps(index))
            await asyncio.sleep(0.01)

    reindexing = asyncio.create_task(indexing.reindex(index, catalog, batch=3))
    await keep_searching()
    assert await reindexing == 7  # the inactive product is left out
    after = [f"p{n:03d}" for n in range(1, 8)]  # p099 is no longer in the catalog
    assert before == ["p001", "p002", "p003", "p099"]
    assert await lamps(index) == after
    assert [len(page) for page in catalog.pages] == [3, 3, 2]
    assert len(answers) > 3
    assert all(answer in (before, after) for answer in answers)


async def test_a_reconcile_repairs_missing_stale_and_deleted_products_then_finds_nothing(
    index: SearchIndex,
) -> None:
    current, stale = document(1), document(2, updated="2026-01-01T00:00:00Z")
    await indexing.index_documents(index, [current, stale, document(5), document(99)])
    catalog = SlowCatalog([document(n) for n in range(1, 5)] + [document(5, active=False)])

    drift = await indexing.reconcile(index, catalog, batch=2)

    assert drift == Drift(missing=2, stale=1, deleted=2)  # p003 p004; p002; p005 p099
    assert await lamps(index) == ["p001", "p002", "p003", "p004"]
    assert abs((await index.stamps())["p002"] - UPDATED) < indexing.STAMP_PRECISION
    assert await indexing.reconcile(index, catalog, batch=2) == Drift(missing=0, stale=0, deleted=0)


async def test_a_reindex_runs_in_the_background_one_at_a_time(index: SearchIndex) -> None:
    reindexer = Reindexer(index, SlowCatalog([document(n) for n in range(1, 8)]))
    first = reindexer.start()
    assert reindexer.start() is first  # asked again while it runs: the same reindex
    assert first.status == REINDEX_RUNNING
    await eventually(lambda: reindexer.last is not None and reindexer.last.status != REINDEX_RUNNING)
    assert reindexer.last is not None
    assert (reindexer.last.status, reindexer.last.indexed) == (REINDEX_FINISHED, 7)
    assert reindexer.start() is not first  # finished: asking again starts another
    await reindexer.close()


async def test_a_failed_reindex_says_why_and_leaves_the_index_answering(index: SearchIndex) -> None:
    await indexing.index_documents(index, [document(1)])

    class BrokenCatalog(SlowCatalog):
        async def documents(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
            raise ConnectionError("the products service is down")

    reindexer = Reindexer(index, BrokenCatalog([document(n) for n in range(1, 4)]))
    reindexer.start()
    await eventually(lambda: reindexer.last is not None and reindexer.last.status != REINDEX_RUNNING)
    assert reindexer.last is not None
    assert reindexer.last.status == REINDEX_FAILED
    assert "products service is down" in (reindexer.last.error or "")
    assert await lamps(index) == ["p001"]
