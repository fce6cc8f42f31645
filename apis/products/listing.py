"""`GET /products`: filters, whitelisted sorting and pagination, then the page's products loaded whole.

Visitors see active products only; staff (`read:product` or `update:product`) see all and may filter on
`isActive`. Variant conditions (price range, in stock, attributes) must hold on one and the same variant.
A root category's slug also finds the products of its children.

At scale (bench/products_read.py) the queries keep to the indexes of migration 0005: the category's ids are
looked up first; "in stock" and the sort by price read the product's own `in_stock` and `min_price`
(models.Product), which also narrow a variant condition before the variants are looked at; the page is read
in the order of an index of the sort, and the count from indexes alone where the filters allow.
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


async def category_ids(session: AsyncSession, slug: str) -> list[str]:
    """The category of `slug` and its children: none when no category has that slug."""
    chosen = sa.select(col(Category.id)).where(col(Category.slug) == slug).scalar_subquery()
    found = await session.scalars(
        sa.select(col(Category.id)).where(
            sa.or_(col(Category.id) == chosen, col(Category.parent_id) == chosen)
        )
    )
    return list(found)


def _in_categories(ids: list[str], *, correlated: bool) -> sa.ColumnElement[bool]:
    """Correlated for a page, which walks an index of its sort and checks each product it meets; not for a
    count, which then starts from the categories' products (`ix_product_category_category_id_product_id`).
    """
    if correlated:
        return sa.exists().where(
            col(ProductCategory.product_id) == col(Product.id), col(ProductCategory.category_id).in_(ids)
        )
    linked = sa.select(col(ProductCategory.product_id)).where(col(ProductCategory.category_id).in_(ids))
    return col(Product.id).in_(linked)


def _variant_matches(query: ProductQuery) -> list[sa.ColumnElement[bool]]:
    """The variant conditions; "in stock" alone is the product's `in_stock`, and the product's `in_stock` and
    `min_price` narrow the products whose variants are looked at (each is implied by the conditions).
    """
    narrowing: list[sa.ColumnElement[bool]] = []
    conditions: list[sa.ColumnElement[bool]] = []
    if query.min_price is not None:
        conditions.append(col(Variant.price) >= query.min_price)
    if query.max_price is not None:
        conditions.append(col(Variant.price) <= query.max_price)
        narrowing.append(col(Product.min_price) <= query.max_price)
    attributes: Any = col(Variant.attributes)
    for key, value in query.attribute_pairs():
        conditions.append(attributes[key].as_string() == value)
    if query.in_stock:
        narrowing.append(col(Product.in_stock) == sa.true())
        if not conditions:
            return narrowing
        conditions.append(col(Variant.stock_quantity) > 0)
    elif query.in_stock is False:
        conditions.append(col(Variant.stock_quantity) <= 0)
    if not conditions:
        return narrowing
    return [*narrowing, sa.exists().where(col(Variant.product_id) == col(Product.id), *conditions)]


def filters(query: ProductQuery, language: str, *, staff: bool) -> list[sa.ColumnElement[bool]]:
    """The conditions but the category's (`_in_categories`)."""
    found: list[sa.ColumnElement[bool]] = [reads.NOT_ARCHIVED]
    if not staff:
        found.append(col(Product.is_active) == sa.true())  # `=`, not `IS`: PostgreSQL's indexes take it
    if query.is_active is not None:
        found.append(col(Product.is_active) == query.is_active)
    if query.q:
        name: Any = col(Product.name)
        pattern = _like(query.q)
        texts = [name[language].as_string().ilike(pattern, escape="\\")]
        if language != DEFAULT_LANGUAGE:
            texts.append(name[DEFAULT_LANGUAGE].as_string().ilike(pattern, escape="\\"))
        found.append(sa.or_(*texts, col(Product.sku).ilike(pattern, escape="\\")))
    return found + _variant_matches(query)


def _sort_key(query: ProductQuery, language: str) -> Any:
    name: Any = col(Product.name)
    columns: dict[str, Any] = {
        "createdAt": col(Product.created_at),
        "updatedAt": col(Product.updated_at),
        "sku": col(Product.sku),
        "averageRating": col(Product.average_rating),
        "reviewCount": col(Product.review_count),
        "name": sa.func.coalesce(name[language].as_string(), name[DEFAULT_LANGUAGE].as_string()),
        "price": col(Product.min_price),
    }
    return columns[query.sort_by]


async def list_products(
    session: AsyncSession, query: ProductQuery, language: str, *, staff: bool
) -> ProductPage:
    """One page of products matching `query`, in `language`, and the total that match."""
    categories = await category_ids(session, query.category_slug) if query.category_slug else None
    if categories == []:
        return ProductPage(data=[], pagination=Pagination.of(0, query.page, query.limit))
    where = filters(query, language, staff=staff)
    counted = where if categories is None else [*where, _in_categories(categories, correlated=False)]
    total = await session.scalar(sa.select(sa.func.count()).select_from(Product).where(*counted)) or 0
    if categories is not None:
        where.append(_in_categories(categories, correlated=True))
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
