"""Currency rates: read by every answer that shows prices, set by holders of `write:currency`.

A write is an upsert by code, idempotent (the rate it already has changes nothing, `updatedAt` included)
and never lost to a concurrent one: the update applies only to the row as it was read, else it reads again
(or, with `expectedUpdatedAt`, refuses with 409 `RateChanged`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products.errors import BaseCurrencyFixed, CurrencyNotFound, RateChanged
from apis.products.models import CurrencyRate
from contracts.currencies import BASE_CURRENCY, BASE_RATE, Rate, UnknownCurrency, requested
from kit.db import now

WRITE_ATTEMPTS = 5  # SQLite: a write that keeps meeting concurrent ones gives up with RateChanged


async def list_rates(session: AsyncSession) -> list[CurrencyRate]:
    return list(await session.scalars(sa.select(CurrencyRate).order_by(col(CurrencyRate.code))))


async def get_rate(session: AsyncSession, code: str) -> CurrencyRate:
    row = await session.get(CurrencyRate, code.upper())
    if row is None:
        raise CurrencyNotFound(code.upper())
    return row


def as_rate(row: CurrencyRate) -> Rate:
    return Rate(row.code, row.rate_vs_base, is_base=row.is_base, updated_at=row.updated_at)


async def display_rate(session: AsyncSession, header: str | None) -> Rate:
    """The rate an `X-Currency` header asks prices in (the base's without one); 400 when it has none."""
    code = requested(header)
    if code is None or code == BASE_CURRENCY:
        return BASE_RATE
    row = await session.get(CurrencyRate, code)
    if row is None:
        raise UnknownCurrency(code)
    return as_rate(row)


def _check(code: str, rate: Decimal, is_base: bool | None) -> None:
    base = code == BASE_CURRENCY
    if is_base is True and not base:
        raise BaseCurrencyFixed(f"{BASE_CURRENCY} is the base currency; {code} cannot become it.")
    if is_base is False and base:
        raise BaseCurrencyFixed(f"{BASE_CURRENCY} is the base currency and stays it.")
    if base and rate != 1:
        raise BaseCurrencyFixed(f"The base currency {BASE_CURRENCY} has rate 1.")


async def set_rate(
    session: AsyncSession,
    code: str,
    rate: Decimal,
    *,
    is_base: bool | None = None,
    expected: datetime | None = None,
) -> CurrencyRate:
    """The rate of `code` set to `rate` (created when new); `expected`: only if last changed then.

    A new code is inserted unless a concurrent writer inserted it first (`ON CONFLICT DO NOTHING`); then the
    row is locked (PostgreSQL) and changed only as it was read (SQLite, which takes no row lock).
    """
    _check(code, rate, is_base)
    for _ in range(WRITE_ATTEMPTS):
        if expected is None:
            created = await session.execute(
                _insert(session)(CurrencyRate)
                .values(code=code, rate_vs_base=rate, is_base=code == BASE_CURRENCY, updated_at=now())
                .on_conflict_do_nothing(index_elements=["code"])
            )
            if getattr(created, "rowcount", 0) == 1:
                await session.commit()
                return await get_rate_fresh(session, code)
        row = await session.scalar(
            sa.select(CurrencyRate)
            .where(col(CurrencyRate.code) == code)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        seen = row.updated_at if row is not None else None
        if row is None or (expected is not None and seen != expected):
            await session.rollback()
            raise RateChanged(code, seen)
        if row.rate_vs_base == rate:
            await session.commit()
            return row
        changed = await session.execute(
            sa.update(CurrencyRate)
            .where(col(CurrencyRate.code) == code, col(CurrencyRate.updated_at) == seen)
            .values(rate_vs_base=rate, updated_at=now())
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        if getattr(changed, "rowcount", 0) == 1:
            return await get_rate_fresh(session, code)
    raise RateChanged(code, None)


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def get_rate_fresh(session: AsyncSession, code: str) -> CurrencyRate:
    row = await session.get(CurrencyRate, code, populate_existing=True)
    if row is None:
        raise CurrencyNotFound(code)
    return row
