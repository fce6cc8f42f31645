"""What the statistics routes answer, in the seed's shapes: money as decimal strings in the base currency,
changes as percentages with two decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, PlainSerializer, WithJsonSchema

from kit.schemas import Money, Schema

Percent = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", description="a percentage, two decimals")]
# Revenue net of the refunds of completed returns: below zero for a period that refunded more than it sold.
NetMoney = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "two decimals, negative possible"},
        mode="serialization",
    ),
]


class Change(Schema):
    value: int | NetMoney
    change: Percent = Field(description="% of the last 30 days against the 30 before (100 from none)")


class Value(Schema):
    value: Percent = Field(description="revenue growth: % of the last 30 days against the 30 before")


class Kpis(Schema):
    customers: Change
    orders: Change
    revenue: Change
    growth: Value


class MonthFigures(Schema):
    name: str = Field(description="Jan .. Dec")
    expenses: Money = Field(description="the sum of cost price x quantity of the month's orders")
    revenue_this_year: NetMoney = Field(description="the month's orders, less its completed returns' refunds")
    revenue_last_year: NetMoney = Field(description="the same month a year before")


class TopSeller(Schema):
    name: str = Field(description="the product's name in the caller's Accept-Language")
    attributes: dict[str, Any]
    quantity: int
    amount: Money


class Rebuilt(Schema):
    """What a rebuild replayed, and the figures it ended with."""

    events: int = Field(description="events read from the beginning of both topics")
    applied: int = Field(description="events that counted (the others: other types, or repeated ids)")
    customers: int
    orders: int
