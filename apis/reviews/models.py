"""The reviews database: the reviews, the products' figures over them, and local copies of the reviewers and
the products they review (from `auth_events` and `product_events`), so no read calls another service.

One review per customer and product, held by a unique constraint rather than a check before the insert, so
two racing posts cannot both pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from kit.copies import HandledEvent
from kit.db import UTCDateTime, new_id, now, service_registry
from kit.outbox import OutboxMessage


class Base(SQLModel, registry=service_registry(OutboxMessage, HandledEvent)):
    """The reviews service's tables, with the kit's outbox (REVIEW_UPDATED leaves through it) and its record
    of the events applied to the copies.
    """


ONE_PER_CUSTOMER = "uq_reviews_user_product"


class Review(Base, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "product_id", name=ONE_PER_CUSTOMER),
        sa.Index("ix_reviews_product_created", "product_id", "created_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(max_length=100, index=True)
    product_id: str = Field(max_length=100)
    rating: int
    title: str | None = Field(default=None, max_length=200)
    comment: str = Field(max_length=5000)
    is_verified_purchase: bool = False  # the orders service's answer when the review was written
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class ProductRating(Base, table=True):
    """A product's figures over its reviews, as last published: the row each write of a review of the product
    locks first, so that figures and versions are computed one writer at a time.
    """

    __tablename__ = "product_ratings"

    product_id: str = Field(primary_key=True, max_length=100)
    average_rating: float = 0.0
    review_count: int = 0
    version: int = Field(default=0, sa_type=sa.BigInteger)  # of the last REVIEW_UPDATED published


class ReviewerCopy(Base, table=True):
    """A user as the auth service last described them (or as their token named them, until it did)."""

    __tablename__ = "reviewers"

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    profile_image: str | None = Field(default=None, max_length=1000)
    is_active: bool = True
    version: int = Field(default=0, sa_type=sa.BigInteger)  # the last applied event's; older ones are dropped
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class ProductCopy(Base, table=True):
    """A product as the catalog last described it (from `product_events`); a deleted one hides its reviews."""

    __tablename__ = "products"

    id: str = Field(primary_key=True, max_length=100)
    name: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sku: str = Field(max_length=200)
    image_url: str | None = Field(default=None, max_length=1000)
    is_deleted: bool = False
    version: int = Field(default=0, sa_type=sa.BigInteger)  # the last applied event's; older ones are dropped
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
