"""`/internal`: the catalog worker's writes to the index, and the reindex and reconcile (service credentials
only); the gateway never forwards these paths. Each is idempotent: a retried call leaves the index as the
first one did.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from apis.search import indexing
from apis.search.dependencies import CatalogDep, IndexDep, ReindexerDep
from apis.search.routes import admin
from apis.search.schemas import DeleteRequest, IndexRequest, Reconciled, ReindexState, Written
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


ReindexCaller = Annotated[Principal, require_scope(scopes.REINDEX)]


@router.post(
    REINDEX_PATH,
    status_code=202,
    summary="Start rebuilding the index from the catalog, swapped in at its end (`commerce search reindex`)",
)
async def reindex(reindexer: ReindexerDep, _caller: ReindexCaller) -> JSONResponse:
    return admin.reindex_started(reindexer)


@router.get(REINDEX_PATH, summary="The latest reindex: running, finished or failed")
async def reindex_state(reindexer: ReindexerDep, _caller: ReindexCaller) -> ReindexState:
    return admin.latest_reindex(reindexer)


@router.post(RECONCILE_PATH, summary="Repair what drifted between the index and the catalog (the schedule)")
async def reconcile(index: IndexDep, catalog: CatalogDep, _caller: IndexWriter) -> Reconciled:
    drift = await indexing.reconcile(index, catalog)
    return Reconciled(missing=drift.missing, stale=drift.stale, deleted=drift.deleted)
