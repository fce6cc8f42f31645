"""`/admin`: staff operations on the index. A reindex needs `update:product`, the permission of those who
edit the catalog the index mirrors.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from apis.search import indexing
from apis.search.dependencies import CatalogDep, IndexDep
from apis.search.schemas import Reindexed
from kit.auth.callers import require_permission
from kit.auth.principal import Principal

REINDEX_PERMISSION = "update:product"

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/reindex",
    summary="Rebuild the index from the whole catalog, then swap it in: searches answer throughout",
    responses={401: {}, 403: {}},
)
async def reindex(
    index: IndexDep, catalog: CatalogDep, _staff: Annotated[Principal, require_permission(REINDEX_PERMISSION)]
) -> Reindexed:
    return Reindexed(indexed=await indexing.reindex(index, catalog))
