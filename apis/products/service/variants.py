"""Variants of a product: listed, read, created (with their initial stock in the ledger), updated, deleted.

A variant's quantity is not editable here: it changes only through the ledger (`stock.adjust_stock`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products.events import Notifier
from apis.products.models import Product, StockMovement, Variant
from apis.products.reads import NOT_ARCHIVED
from apis.products.schemas.products import VariantCreate, VariantUpdate
from apis.products.service.catalog import live_product, refresh_listing, touch, variant_rows
from contracts.products import VariantNotFound
from kit.db import commit, now


async def list_variants(session: AsyncSession, product_id: str) -> list[Variant]:
    await live_product(session, product_id)
    found = await session.scalars(
        sa.select(Variant)
        .where(col(Variant.product_id) == product_id)
        .order_by(col(Variant.created_at), col(Variant.id))
    )
    return list(found)


async def get_variant(session: AsyncSession, product_id: str, variant_id: str) -> Variant:
    """The variant, if it belongs to this product and the product is not archived (404 otherwise)."""
    variant = await session.scalar(
        sa.select(Variant)
        .join(Product, col(Product.id) == col(Variant.product_id))
        .where(col(Variant.id) == variant_id, col(Variant.product_id) == product_id, NOT_ARCHIVED)
    )
    if variant is None:
        raise VariantNotFound(variant_id)
    return variant


async def create_variant(
    session: AsyncSession, notify: Notifier, product_id: str, data: VariantCreate
) -> Variant:
    await touch(session, notify, product_id)
    [row], movements = variant_rows(product_id, [data], "Variant Creation Initial Stock")
    await session.execute(sa.insert(Variant), [row])
    if movements:
        await session.execute(sa.insert(StockMovement), movements)
    await refresh_listing(session, product_id)
    await commit(session)
    return await get_variant(session, product_id, row["id"])


async def update_variant(
    session: AsyncSession, notify: Notifier, product_id: str, variant_id: str, data: VariantUpdate
) -> Variant:
    """Change the fields sent: `attributes`, `price`, `costPrice` (null clears it), `lowStockThreshold`."""
    await touch(session, notify, product_id)
    variant = await get_variant(session, product_id, variant_id)
    fields = data.model_fields_set
    if "attributes" in fields and data.attributes is not None:
        variant.attributes = data.attributes
    if "price" in fields and data.price is not None:
        variant.price = data.price
    if "cost_price" in fields:
        variant.cost_price = data.cost_price
    if "low_stock_threshold" in fields:
        variant.low_stock_threshold = data.low_stock_threshold
    variant.updated_at = now()
    await session.flush()
    await refresh_listing(session, product_id)
    await commit(session)
    return variant


async def delete_variant(session: AsyncSession, notify: Notifier, product_id: str, variant_id: str) -> None:
    """Remove the variant and its stock history."""
    await touch(session, notify, product_id)
    deleted = await session.execute(
        sa.delete(Variant).where(col(Variant.id) == variant_id, col(Variant.product_id) == product_id)
    )
    if getattr(deleted, "rowcount", 0) == 0:
        await session.rollback()
        raise VariantNotFound(variant_id)
    await refresh_listing(session, product_id)
    await commit(session)
