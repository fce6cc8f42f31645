"""The queries behind the statistics routes, over the read model's small tables: the daily figures (a row a
day with activity), the customers and the variants' sales.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.stats.models import Customer, DailyFigures, VariantSales
from apis.stats.schemas import Change, Kpis, MonthFigures, TopSeller, Value
from kit.localisation import localise

WINDOW = 30  # days: the KPIs compare the last 30 days with the 30 before
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CENT = Decimal("0.01")


def change(current: Decimal, previous: Decimal) -> str:
    """The percentage from `previous` to `current`, 2 decimals; 100 from nothing to something (the seed's)."""
    if previous == 0:
        return "100.00" if current > 0 else "0.00"
    return str(((current - previous) / previous * 100).quantize(CENT))


async def _sums(session: AsyncSession, since: date, until: date) -> tuple[Decimal, Decimal, Decimal]:
    """New customers, new orders and revenue of the days in [since, until)."""
    row = (
        await session.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(DailyFigures.new_customers), 0),
                sa.func.coalesce(sa.func.sum(DailyFigures.new_orders), 0),
                sa.func.coalesce(sa.func.sum(DailyFigures.revenue), 0),
            ).where(col(DailyFigures.day) >= since, col(DailyFigures.day) < until)
        )
    ).one()
    return Decimal(row[0]), Decimal(row[1]), Decimal(str(row[2]))


async def kpis(session: AsyncSession, today: date) -> Kpis:
    """Totals of what stands, and each one's change over the last 30 days (today included)."""
    end = today + timedelta(days=1)
    start, before = end - timedelta(days=WINDOW), end - timedelta(days=2 * WINDOW)
    customers = await session.scalar(sa.select(sa.func.count()).select_from(Customer)) or 0
    _, orders, revenue = await _sums(session, date.min, end)
    now_c, now_o, now_r = await _sums(session, start, end)
    then_c, then_o, then_r = await _sums(session, before, start)
    growth = change(now_r, then_r)
    return Kpis(
        customers=Change(value=customers, change=change(now_c, then_c)),
        orders=Change(value=int(orders), change=change(now_o, then_o)),
        revenue=Change(value=revenue.quantize(CENT), change=growth),
        growth=Value(value=growth),
    )


def _month_back(year: int, month: int, back: int) -> tuple[int, int]:
    index = year * 12 + month - 1 - back
    return index // 12, index % 12 + 1


async def time_series(session: AsyncSession, today: date) -> list[MonthFigures]:
    """The 12 months up to this one, oldest first: each one's revenue and expenses, and its revenue a year
    before.
    """
    first_year, first_month = _month_back(today.year, today.month, 23)
    rows = await session.execute(
        sa.select(col(DailyFigures.day), col(DailyFigures.revenue), col(DailyFigures.expenses)).where(
            col(DailyFigures.day) >= date(first_year, first_month, 1)
        )
    )
    revenue: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    expenses: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for day, day_revenue, day_expenses in rows:
        revenue[day.year, day.month] += Decimal(str(day_revenue))
        expenses[day.year, day.month] += Decimal(str(day_expenses))
    series = []
    for back in range(11, -1, -1):
        year, month = _month_back(today.year, today.month, back)
        series.append(
            MonthFigures(
                name=MONTHS[month - 1],
                expenses=expenses[year, month].quantize(CENT),
                revenue_this_year=revenue[year, month].quantize(CENT),
                revenue_last_year=revenue[year - 1, month].quantize(CENT),
            )
        )
    return series


async def top_selling(session: AsyncSession, limit: int, language: str) -> list[TopSeller]:
    """The variants that brought the most revenue in the orders that stand, their names in `language`."""
    rows = await session.scalars(
        sa.select(VariantSales)
        .where(col(VariantSales.quantity) > 0)
        .order_by(col(VariantSales.revenue).desc(), col(VariantSales.variant_id))
        .limit(limit)
    )
    return [
        TopSeller(
            name=localise(_texts(row.product_name), language) or "",
            attributes=row.variant_attributes,
            quantity=row.quantity,
            amount=Decimal(str(row.revenue)).quantize(CENT),
        )
        for row in rows
    ]


def _texts(name: dict[str, Any]) -> dict[str, str]:
    return {language: str(text) for language, text in name.items() if text}
