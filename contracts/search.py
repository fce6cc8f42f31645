"""The search service's seam: the internal writes the catalog worker keeps the index current with (service
credentials). Both are idempotent, so a retried activity writes the same index again: `index` stores the
active products among the products service's event documents and deletes the inactive ones; `delete` drops
products by id (ids not indexed are fine). `reindex` starts rebuilding the whole index from the catalog in
the background (its state is polled); `reconcile` repairs only what drifted from it (the scheduled
reconcile workflow calls it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kit.clients import ServiceClient

SERVICE = "search"

# Routes the catalog worker (and the `commerce search reindex` command) call.
INDEX_PATH = "/internal/index"
DELETE_PATH = "/internal/delete"
REINDEX_PATH = "/internal/reindex"
RECONCILE_PATH = "/internal/reconcile"

# The states of a reindex, as `POST`/`GET` REINDEX_PATH (and `/admin/reindex`) answer them.
REINDEX_RUNNING = "running"
REINDEX_FINISHED = "finished"
REINDEX_FAILED = "failed"


@dataclass(frozen=True)
class Drift:
    """What a reconcile repaired: products missing from the index, indexed older than the catalog's, and
    indexed but deleted or inactive in the catalog.
    """

    missing: int
    stale: int
    deleted: int


class SearchClient:
    """The search service as the catalog worker calls it."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    async def index(self, documents: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Index the products' event documents (`ProductsClient.documents`); answers `{indexed, deleted}`
        (an inactive product is deleted from the index).
        """
        if not documents:
            return {"indexed": 0, "deleted": 0}
        counts: dict[str, int] = await self._http.post(INDEX_PATH, json={"documents": list(documents)})
        return counts

    async def delete(self, product_ids: Sequence[str]) -> None:
        """Drop deleted products from the index."""
        if product_ids:
            await self._http.post(DELETE_PATH, json={"productIds": list(product_ids)})

    async def reindex(self) -> dict[str, Any]:
        """Start rebuilding the index from the whole catalog (or join the rebuild running); answers its
        state: `{status, startedAt, finishedAt, indexed, error}`, `status` one of REINDEX_*.
        """
        body: dict[str, Any] = await self._http.post(REINDEX_PATH)
        return body

    async def reindex_state(self) -> dict[str, Any]:
        """The state of the latest reindex, as `reindex` answers it."""
        body: dict[str, Any] = await self._http.get(REINDEX_PATH)
        return body

    async def reconcile(self) -> Drift:
        """Compare the index with the catalog (ids and update times) and repair the drift."""
        body: dict[str, int] = await self._http.post(RECONCILE_PATH)
        return Drift(missing=body["missing"], stale=body["stale"], deleted=body["deleted"])
