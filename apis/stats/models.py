"""The statistics database: a read model of `auth_events` and `order_events`, nothing else.

Each customer, order and completed return counts once, by its id (`customers`, `counted_orders`,
`counted_returns`), whatever events bring it; the daily figures and the variants' sales are sums of those
contributions, changed in the transaction that records the contribution (and the event's id in
`handled_events`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from kit.db import UTCDateTime, now, service_registry
from kit.outbox import OutboxMessage


class Base(SQLModel, registry=service_registry(OutboxMessage)):
    """The statistics service's tables (the kit's outbox too: every database service has one, empty here)."""


Money = sa.Numeric(14, 2)


class HandledEvent(Base, table=True):
    """Bus events already applied, so a redelivery changes nothing (written with the change itself)."""

    __tablename__ = "handled_events"

    id: str = Field(primary_key=True, max_length=100)
    handled_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class Customer(Base, table=True):
    """A registered user, counted once on the day of its USER_CREATED."""

    __tablename__ = "customers"

    user_id: str = Field(primary_key=True, max_length=100)
    day: date


class CountedOrder(Base, table=True):
    """An order's contribution, counted once on the day it was confirmed or paid; `withdrawn_at` once it was
    cancelled or failed after that (its figures are then taken back out of `day`). An order cancelled before
    it counted keeps a zero row, so that a late confirmation cannot count it.
    """

    __tablename__ = "counted_orders"

    order_id: str = Field(primary_key=True, max_length=100)
    day: date
    revenue: Decimal = Field(sa_type=Money)
    expenses: Decimal = Field(sa_type=Money)
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CountedReturn(Base, table=True):
    """A completed return's refund, taken once out of the revenue of the day it was completed (zero for a
    cash order's return, which refunds nothing through the shop).
    """

    __tablename__ = "counted_returns"

    return_id: str = Field(primary_key=True, max_length=100)
    order_id: str = Field(max_length=100)
    day: date
    refunded: Decimal = Field(sa_type=Money)


class DailyFigures(Base, table=True):
    """One UTC day's sums (the months are sums of their days)."""

    __tablename__ = "daily_figures"

    day: date = Field(primary_key=True)
    new_customers: int = 0
    new_orders: int = 0
    revenue: Decimal = Field(default=Decimal(0), sa_type=Money)
    expenses: Decimal = Field(default=Decimal(0), sa_type=Money)


class VariantSales(Base, table=True):
    """What one variant sold in counted orders: units and revenue, with its names as last ordered."""

    __tablename__ = "variant_sales"

    variant_id: str = Field(primary_key=True, max_length=100)
    product_id: str = Field(max_length=100, index=True)
    product_name: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    variant_attributes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    quantity: int = 0
    revenue: Decimal = Field(default=Decimal(0), sa_type=Money, index=True)
