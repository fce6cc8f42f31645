"""`/admin`: staff operations on the index. A reindex needs `update:product`, the permission of those who
edit the catalog the index mirrors.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from apis.search.dependencies import ReindexerDep
from apis.search.reindexing import Reindexer
from apis.search.schemas import ReindexState
from kit.auth.callers import require_permission
from kit.auth.principal import Principal
from kit.errors import NotFound

REINDEX_PERMISSION = "update:product"

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/reindex",
    status_code=202,
    summary="Start rebuilding the index from the whole catalog, swapped in at its end: searches answer "
    "throughout (a rebuild already running is the one answered)",
    responses={401: {}, 403: {}},
)
async def reindex(
    reindexer: ReindexerDep, _staff: Annotated[Principal, require_permission(REINDEX_PERMISSION)]
) -> JSONResponse:
    return reindex_started(reindexer)


@router.get("/reindex", summary="The latest reindex: running, finished or failed", responses={404: {}})
async def reindex_state(
    reindexer: ReindexerDep, _staff: Annotated[Principal, require_permission(REINDEX_PERMISSION)]
) -> ReindexState:
    return latest_reindex(reindexer)


def reindex_started(reindexer: Reindexer) -> JSONResponse:
    """202 with the reindex running, to be followed at `Location`."""
    state = ReindexState.model_validate(reindexer.start(), from_attributes=True)
    return JSONResponse(
        state.model_dump(mode="json", by_alias=True), status_code=202, headers={"Location": "reindex"}
    )


def latest_reindex(reindexer: Reindexer) -> ReindexState:
    if reindexer.last is None:
        raise NotFound("No reindex has run since the search service started.", code="NoReindex")
    return ReindexState.model_validate(reindexer.last, from_attributes=True)
