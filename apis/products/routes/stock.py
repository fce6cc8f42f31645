"""`/stock`: the ledger. Adjustments need `adjust:stock` or service credentials (the orders saga)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from apis.products.dependencies import NotifierDep, StockAdjuster
from apis.products.schemas.stock import ReconcileReport, StockAdjust, StockAdjustResult, StockMovementRead
from apis.products.service import stock
from contracts.products import STOCK_ADJUST_PATH
from kit.auth.callers import require_permission
from kit.web import SessionDep

router = APIRouter(tags=["stock"])
VariantId = Annotated[uuid.UUID, Path(description="the variant's id")]


@router.post(
    STOCK_ADJUST_PATH,
    status_code=201,
    summary="Adjust a variant's stock through the ledger (idempotent with an idempotencyKey)",
    responses={404: {"description": "No such variant"}, 409: {"description": "InsufficientStock, ..."}},
)
async def adjust_stock(
    session: SessionDep,
    notify: NotifierDep,
    variant_id: VariantId,
    data: StockAdjust,
    caller: StockAdjuster,
    response: Response,
) -> StockAdjustResult:
    result = await stock.adjust_stock(session, notify, str(variant_id), data, caller=caller.id)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.get(
    "/stock/history/{variant_id}",
    summary="A variant's stock movements, newest first",
    dependencies=[require_permission("read:stock")],
)
async def stock_history(
    session: SessionDep, variant_id: VariantId, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[StockMovementRead]:
    return await stock.stock_history(session, str(variant_id), limit=limit)


@router.get(
    "/stock/reconcile",
    summary="Variants whose quantity differs from the sum of their movements (never any)",
    dependencies=[require_permission("read:stock")],
)
async def reconcile(session: SessionDep) -> ReconcileReport:
    return await stock.reconcile(session)
