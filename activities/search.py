"""Search activities: keep the search index in step with the catalog, product by product."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from contracts.products import ProductsClient
from contracts.search import SearchClient


class IndexProductsInput(BaseModel):
    product_ids: list[str]


class IndexProductsResult(BaseModel):
    indexed: int
    deleted: int


class ReconcileSearchResult(BaseModel):
    missing: int
    stale: int
    deleted: int


class SearchActivities:
    """Built with clients of the products and search services (service credentials)."""

    def __init__(self, products: ProductsClient, search: SearchClient) -> None:
        self._products = products
        self._search = search

    @activity.defn(name="index_products")
    async def index_products(self, data: IndexProductsInput) -> IndexProductsResult:
        """Index each product's current document; a product that no longer exists is deleted from the index.
        Both writes are idempotent, so a retry after a crash anywhere converges on the catalog.
        """
        documents = await self._products.documents(data.product_ids)
        gone = [product_id for product_id in data.product_ids if product_id not in documents]
        written = await self._search.index([documents[p] for p in data.product_ids if p in documents])
        await self._search.delete(gone)
        return IndexProductsResult(indexed=written["indexed"], deleted=written["deleted"] + len(gone))

    @activity.defn(name="reconcile_search")
    async def reconcile_search(self) -> ReconcileSearchResult:
        """Have the search service compare its index with the catalog and repair the drift."""
        drift = await self._search.reconcile()
        return ReconcileSearchResult(missing=drift.missing, stale=drift.stale, deleted=drift.deleted)
