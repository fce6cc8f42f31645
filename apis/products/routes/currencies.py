"""`/currencies`: exchange rates against the base currency (anyone reads them; `write:currency` sets them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from apis.products.schemas.currencies import Code, CurrencyRead, CurrencyWrite, RateBody
from apis.products.service import currencies
from contracts.currencies import CURRENCIES_PATH
from kit.auth.callers import require_permission
from kit.web import SessionDep

router = APIRouter(prefix=CURRENCIES_PATH, tags=["currencies"])
CodePath = Annotated[Code, Path(description="ISO 4217 code: `EUR`")]


@router.get("", summary="Every currency and its rate against the base (the base has rate 1)")
async def list_currencies(session: SessionDep) -> list[CurrencyRead]:
    return [CurrencyRead.model_validate(row) for row in await currencies.list_rates(session)]


@router.get("/{code}", summary="One currency's rate against the base")
async def get_currency(session: SessionDep, code: CodePath) -> CurrencyRead:
    return CurrencyRead.model_validate(await currencies.get_rate(session, code))


@router.post(
    "",
    summary="Set a currency's rate (created when new; the same rate again changes nothing)",
    dependencies=[require_permission("write:currency")],
)
async def set_currency(session: SessionDep, data: CurrencyWrite) -> CurrencyRead:
    row = await currencies.set_rate(
        session, data.code, data.rate_vs_base, is_base=data.is_base, expected=data.expected_updated_at
    )
    return CurrencyRead.model_validate(row)


@router.put(
    "/{code}",
    summary="Set the rate of the currency the path names (as POST, the code from the path)",
    dependencies=[require_permission("write:currency")],
)
async def put_currency(session: SessionDep, code: CodePath, data: RateBody) -> CurrencyRead:
    row = await currencies.set_rate(
        session, code, data.rate_vs_base, is_base=data.is_base, expected=data.expected_updated_at
    )
    return CurrencyRead.model_validate(row)
