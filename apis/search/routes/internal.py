"""`/internal`: the catalog worker's writes to the index, and the reindex and reconcile (service credentials
only); the gateway never forwards these paths. Each is idempotent: a retried call leaves the index as the
first one did.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from apis.search import indexing
from apis.search.dependencies import CatalogDep, IndexDep
from apis.search.schemas import DeleteRequest, IndexRequest, Reconciled, Reindexed, Written
from contracts import scopes
from contracts.search import DELETE_PATH, INDEX_PATH, RECONCILE_PATH, REINDEX_PATH
from kit.auth.callers import require_scope
from kit.auth.principal import Principal

router = APIRouter(tags=["internal"])
IndexWriter = Annotated[Principal, require_scope(scopes.WRITE_INDEX)]


@router.post(INDEX_PATH, summary="Index products' event documents (inactive ones are deleted)")
async def index_products(index: IndexDep, data: IndexRequest, _caller: IndexWriter) -> Written:
    written = await indexing.index_documents(index, data.documents)
    return Written(indexed=written.indexed, deleted=written.deleted)


@router.post(DELETE_PATH, summary="Delete products from the index (unknown ids are fine)")
async def delete_products(index: IndexDep, data: DeleteRequest, _caller: IndexWriter) -> Written:
    if data.product_ids:
        await index.delete(data.product_ids)
    return Written(indexed=0, deleted=len(data.product_ids))


@router.post(
    REINDEX_PATH, summary="Rebuild the index from the catalog and swap it in (`commerce search reindex`)"
)
async def reindex(
    index: IndexDep, catalog: CatalogDep, _caller: Annotated[Principal, require_scope(scopes.REINDEX)]
) -> Reindexed:
    return Reindexed(indexed=await indexing.reindex(index, catalog))


@router.post(RECONCILE_PATH, summary="Repair what drifted between the index and the catalog (the schedule)")
async def reconcile(index: IndexDep, catalog: CatalogDep, _caller: IndexWriter) -> Reconciled:
    drift = await indexing.reconcile(index, catalog)
    return Reconciled(missing=drift.missing, stale=drift.stale, deleted=drift.deleted)
