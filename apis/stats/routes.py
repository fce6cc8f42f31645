"""The statistics routes, staff only (the seed left them open to anyone): `read:stats` reads the figures,
`rebuild:stats` rebuilds them from the beginning of the topics.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from apis.stats import reads, rebuild
from apis.stats.schemas import Kpis, MonthFigures, Rebuilt, TopSeller
from contracts.stats import READ_STATS, REBUILD_STATS
from kit.auth.callers import require_permission
from kit.auth.principal import Principal
from kit.localisation import LanguageDep
from kit.web import InfraDep, SessionDep

router = APIRouter(tags=["stats"])
MAX_LIMIT = 100
Reader = Annotated[Principal, require_permission(READ_STATS)]


def _today() -> datetime:
    return datetime.now(UTC)


@router.get("/kpis", summary="Customers, orders and revenue, with their change over 30 days")
async def kpis(session: SessionDep, _staff: Reader) -> Kpis:
    return await reads.kpis(session, _today().date())


@router.get(
    "/revenue/time-series", summary="Revenue and expenses of the last 12 months, and a year before each"
)
async def time_series(session: SessionDep, _staff: Reader) -> list[MonthFigures]:
    return await reads.time_series(session, _today().date())


@router.get("/products/top-selling", summary="The variants that brought the most revenue")
async def top_selling(
    session: SessionDep,
    language: LanguageDep,
    _staff: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 5,
) -> list[TopSeller]:
    return await reads.top_selling(session, limit, language)


@router.post(
    "/admin/rebuild",
    summary="Empty the figures and count both topics again from their beginning (`commerce stats rebuild`)",
)
async def rebuild_figures(
    infra: InfraDep, _staff: Annotated[Principal, require_permission(REBUILD_STATS)]
) -> Rebuilt:
    assert infra.sessions is not None
    return await rebuild.rebuild(infra.sessions, infra.bus)
