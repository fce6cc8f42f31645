"""The catalog's tables: categories (two levels), products, their images and variants, and the stock ledger.

Ids are UUID strings, as in the seed. Multilingual texts are JSON objects `{"en", "fr", "ar"}`. Prices are
`Numeric(12, 2)`. A variant's `stock_quantity` only ever changes together with a `StockMovement` row, so the
sum of a variant's movements always equals its quantity (`GET /stock/reconcile` checks it). The hand-written
migrations are the schema (indexes included); the flags here document it for readers.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from kit.db import UTCDateTime, new_id, now, service_registry
from kit.outbox import OutboxMessage

PRICE = sa.Numeric(12, 2)


def _fk(target: str, on_delete: str) -> Any:
    return sa.ForeignKey(target, ondelete=on_delete)


class Base(SQLModel, registry=service_registry(OutboxMessage)):
    """The catalog's tables: a metadata of their own, with a copy of the kit's outbox."""


class StockMovementType(enum.StrEnum):
    """The seed's six kinds of stock change."""

    INITIAL_STOCK = "INITIAL_STOCK"
    ADMIN_UPDATE = "ADMIN_UPDATE"
    ORDER = "ORDER"
    ADJUSTMENT = "ADJUSTMENT"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    RETURN_RESTOCK = "RETURN_RESTOCK"


class Category(Base, table=True):
    """A root or a child category; products sit only on leaves (categories without children)."""

    __tablename__ = "category"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    slug: str = Field(max_length=120, unique=True)
    parent_id: str | None = Field(
        default=None, sa_column=Column(sa.String(36), _fk("category.id", "RESTRICT"), index=True)
    )
    image_url: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


LIVE = sa.text("archived_at IS NULL")


def _listing_index(name: str, *columns: str) -> sa.Index:
    """An index of the products the listing shows (not archived)."""
    return sa.Index(name, *columns, sqlite_where=LIVE, postgresql_where=LIVE)


class Product(Base, table=True):
    __tablename__ = "product"
    __table_args__ = (
        _listing_index("ix_product_listing_created", "is_active", "created_at", "id"),
        _listing_index("ix_product_listing_price", "is_active", "min_price", "id"),
        _listing_index("ix_product_listing_stock_created", "is_active", "in_stock", "created_at", "id"),
        _listing_index("ix_product_listing_stock_price", "is_active", "in_stock", "min_price", "id"),
        _listing_index("ix_product_listing_staff_created", "created_at", "id"),
        _listing_index("ix_product_listing_id", "id", "is_active", "in_stock", "min_price"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sku: str = Field(max_length=100, unique=True)
    name: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    description: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    is_active: bool = True
    average_rating: float = 0.0
    review_count: int = 0
    # the version of the reviews' figures above (REVIEW_UPDATED): older or repeated figures change nothing
    rating_version: int = Field(default=0, sa_type=sa.BigInteger)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    # Deleted while its variants had orders: hidden as if gone, its rows and ledger kept for releases and
    # returns; its SKU moves to `archived_sku`, freeing `sku` for a new product.
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    archived_sku: str | None = Field(default=None, max_length=100)
    # The listing's sort by price and filter on stock, kept by service.catalog.refresh_listing in the
    # transaction of every write of the product's variants or stock: the lowest price of its variants (None
    # without variants) and whether one of them is in stock.
    min_price: Decimal | None = Field(default=None, sa_column=Column(PRICE))
    in_stock: bool = False


class ProductCategory(Base, table=True):
    """A product on a leaf category. The listing's columns (`is_active`, `in_stock`: copies of the product's
    own; `root_id`, the category's root; `first_in_root`) are written by service.catalog.relink in the
    transaction of every change of them, so that a category's count reads an index of its links alone.
    """

    __tablename__ = "product_category"
    __table_args__ = (
        sa.Index("ix_product_category_category_id_product_id", "category_id", "product_id"),
        sa.Index("ix_product_category_leaf_listing", "category_id", "is_active", "in_stock"),
        sa.Index("ix_product_category_root_listing", "root_id", "first_in_root", "is_active", "in_stock"),
    )

    product_id: str = Field(sa_column=Column(sa.String(36), _fk("product.id", "CASCADE"), primary_key=True))
    category_id: str = Field(
        sa_column=Column(sa.String(36), _fk("category.id", "RESTRICT"), primary_key=True)
    )
    is_active: bool = False
    in_stock: bool = False
    root_id: str | None = Field(default=None, max_length=36)
    first_in_root: bool = False


class ProductImage(Base, table=True):
    __tablename__ = "product_image"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    product_id: str = Field(sa_column=Column(sa.String(36), _fk("product.id", "CASCADE"), index=True))
    image_url: str = Field(max_length=2000)
    image_name: str | None = Field(default=None, max_length=64, index=True)  # ours: images service
    alt_text: str | None = Field(default=None, max_length=500)
    is_primary: bool = False
    position: int | None = None  # the seed's `order`
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class ImageLock(Base, table=True):
    """One row per image of the images service ever attached or asked about: attaching the image and
    counting its uses both write this row first, so they take turns (service/images.py).
    """

    __tablename__ = "image_lock"

    name: str = Field(primary_key=True, max_length=64)


class Variant(Base, table=True):
    __tablename__ = "variant"
    __table_args__ = (
        sa.CheckConstraint("stock_quantity >= 0", name="ck_variant_stock_not_negative"),
        sa.Index("ix_variant_product_id_price_stock", "product_id", "price", "stock_quantity"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    product_id: str = Field(sa_column=Column(sa.String(36), _fk("product.id", "CASCADE")))
    attributes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    price: Decimal = Field(sa_column=Column(PRICE, nullable=False))
    cost_price: Decimal | None = Field(default=None, sa_column=Column(PRICE))
    stock_quantity: int = Field(default=0, sa_type=sa.BigInteger)
    low_stock_threshold: int | None = None
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class StockMovement(Base, table=True):
    """One change of a variant's quantity; `quantity_after` is the quantity it left, so that a repeated
    request with the same `idempotency_key` is answered with the first result.
    """

    __tablename__ = "stock_movement"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    variant_id: str = Field(sa_column=Column(sa.String(36), _fk("variant.id", "CASCADE"), index=True))
    change_quantity: int = Field(sa_type=sa.BigInteger)
    quantity_after: int = Field(sa_type=sa.BigInteger)
    type: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=500)
    related_order_id: str | None = Field(default=None, max_length=100, index=True)
    idempotency_key: str | None = Field(default=None, max_length=300, unique=True)  # `{caller}/{key}`
    timestamp: datetime = Field(default_factory=now, sa_type=UTCDateTime, index=True)


BASE = sa.text("is_base")


class CurrencyRate(Base, table=True):
    """How many units of `code` one unit of the base currency buys (`contracts.currencies`); one row is the
    base, at rate 1. `updated_at` moves only when the rate does: a repeated write changes nothing.
    """

    __tablename__ = "currency_rates"
    __table_args__ = (
        sa.CheckConstraint("rate_vs_base > 0", name="ck_currency_rates_positive"),
        sa.Index(
            "uq_currency_rates_one_base", "is_base", unique=True, sqlite_where=BASE, postgresql_where=BASE
        ),
    )

    code: str = Field(primary_key=True, max_length=3)
    rate_vs_base: Decimal = Field(sa_column=Column(sa.Numeric(12, 6), nullable=False))
    is_base: bool = False
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class Promotion(Base, table=True):
    """A storefront banner: shown while `is_active` and before `expires_at`, in `display_order`."""

    __tablename__ = "promotion"
    __table_args__ = (sa.Index("ix_promotion_is_active_display_order", "is_active", "display_order"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    title: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    subtitle: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    tagline: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    cta_text: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    cta_link: str = Field(max_length=2000)
    image_url: str = Field(max_length=2000)
    product_image_url: str | None = Field(default=None, max_length=2000)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_active: bool = False
    display_order: int = 0
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class DemoCatalog(Base, table=True):
    """Marks that the demo catalog was generated on a first start: a later start never generates it again."""

    __tablename__ = "demo_catalog"

    id: int = Field(default=1, primary_key=True)
    seed: int
    products: int
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
