"""`GET /products`: filters, whitelisted sorting and pagination, then the page's products loaded whole.

Visitors see active products only; staff (`read:product` or `update:product`) see all and may filter on
`isActive`. Variant conditions (price range, in stock, attributes) must hold on one and the same variant.
A root category's slug also finds the products of its children.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products import reads
from apis.products.models import Category, Product, ProductCategory, Variant
from apis.products.schemas.products import Pagination, ProductPage, ProductQuery
from kit.localisation import DEFAULT_LANGUAGE


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _in_category(slug: str) -> sa.ColumnElement[bool]:
    chosen = sa.select(col(Category.id)).where(col(Category.slug) == slug).scalar_subquery()
    categories = sa.select(col(Category.id)).where(
        sa.or_(col(Category.id) == chosen, col(Category.parent_id) == chosen)
    )
    linked = sa.select(col(ProductCategory.product_id)).where(
        col(ProductCategory.category_id).in_(categories)
    )
    return col(Product.id).in_(linked)


def _variant_matches(query: ProductQuery) -> sa.ColumnElement[bool] | None:
    conditions: list[sa.ColumnElement[bool]] = []
    if query.min_price is not None:
        conditions.append(col(Variant.price) >= query.min_price)
    if query.max_price is not None:
        conditions.append(col(Variant.price) <= query.max_price)
    if query.in_stock is not None:
        stocked = col(Variant.stock_quantity) > 0
        conditions.append(stocked if query.in_stock else sa.not_(stocked))
    attributes: Any = col(Variant.attributes)
    for key, value in query.attribute_pairs():
        conditions.append(attributes[key].as_string() == value)
    if not conditions:
        return None
    return sa.exists().where(col(Variant.product_id) == col(Product.id), *conditions)


def filters(query: ProductQuery, language: str, *, staff: bool) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = [reads.NOT_ARCHIVED]
    if not staff:
        found.append(col(Product.is_active).is_(True))
    if query.is_active is not None:
        found.append(col(Product.is_active).is_(query.is_active))
    if query.category_slug:
        found.append(_in_category(query.category_slug))
    if query.q:
        name: Any = col(Product.name)
        pattern = _like(query.q)
        texts = [name[language].as_string().ilike(pattern, escape="\\")]
        if language != DEFAULT_LANGUAGE:
            texts.append(name[DEFAULT_LANGUAGE].as_string().ilike(pattern, escape="\\"))
        found.append(sa.or_(*texts, col(Product.sku).ilike(pattern, escape="\\")))
    if (variant := _variant_matches(query)) is not None:
        found.append(variant)
    return found


def _sort_key(query: ProductQuery, language: str) -> Any:
    name: Any = col(Product.name)
    columns: dict[str, Any] = {
        "createdAt": col(Product.created_at),
        "updatedAt": col(Product.updated_at),
        "sku": col(Product.sku),
        "averageRating": col(Product.average_rating),
        "reviewCount": col(Product.review_count),
        "name": sa.func.coalesce(name[language].as_string(), name[DEFAULT_LANGUAGE].as_string()),
        "price": sa.select(sa.func.min(col(Variant.price)))
        .where(col(Variant.product_id) == col(Product.id))
        .scalar_subquery(),
    }
    return columns[query.sort_by]


async def list_products(
    session: AsyncSession, query: ProductQuery, language: str, *, staff: bool
) -> ProductPage:
    """One page of products matching `query`, in `language`, and the total that match."""
    where = filters(query, language, staff=staff)
    total = await session.scalar(sa.select(sa.func.count()).select_from(Product).where(*where)) or 0
    key = _sort_key(query, language)
    descending = query.sort_order == "desc"
    order = [
        key.desc() if descending else key.asc(),
        col(Product.id).desc() if descending else col(Product.id),
    ]
    page_ids = (
        await session.scalars(
            sa.select(col(Product.id))
            .where(*where)
            .order_by(*order)
            .offset((query.page - 1) * query.limit)
            .limit(query.limit)
        )
    ).all()
    aggregates = await reads.load_aggregates(session, page_ids)
    return ProductPage(
        data=[reads.product_view(a, language, staff=staff) for a in aggregates],
        pagination=Pagination.of(total, query.page, query.limit),
    )
