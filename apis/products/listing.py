"""`GET /products`: filters, whitelisted sorting and pagination, then the page's products loaded whole.

Visitors see active products only; staff (`read:product` or `update:product`) see all and may filter on
`isActive`. Variant conditions (price range, in stock, attributes) must hold on one and the same variant.
A root category's slug also finds the products of its children.

At scale (bench/products_read.py) the queries keep to the indexes of migrations 0005 and 0010: the category's
ids are looked up first; "in stock" and the sort by price read the product's own `in_stock` and `min_price`
(models.Product), which also narrow a variant condition before the variants are looked at; the page is read
in the order of an index of the sort, and the count from indexes alone where the filters allow: a category's
from its links' own columns (`_link_count`), which count each product once and need no product looked up.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products import reads
from apis.products.errors import BadCursor
from apis.products.models import Category, Product, ProductCategory, Variant
from apis.products.schemas.products import Meta, Pagination, ProductPage, ProductQuery
from contracts.currencies import BASE_RATE, Rate
from kit.localisation import DEFAULT_LANGUAGE


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Scope(NamedTuple):
    """The category of a slug: its id, whether it is a root (its children's products are listed too), and
    the ids of its own and its children's.
    """

    id: str
    root: bool
    ids: list[str]


async def category_scope(session: AsyncSession, slug: str) -> Scope | None:
    """The category of `slug` and its children: None when no category has that slug."""
    found = (
        await session.execute(
            sa.select(col(Category.id), col(Category.parent_id)).where(col(Category.slug) == slug)
        )
    ).first()
    if found is None:
        return None
    chosen, parent = found
    children = await session.scalars(sa.select(col(Category.id)).where(col(Category.parent_id) == chosen))
    return Scope(chosen, parent is None, [chosen, *children])


def _link_count(query: ProductQuery, scope: Scope, *, staff: bool) -> sa.Select[Any] | None:
    """The count from the category links' own columns (models.ProductCategory, one index range: a root's
    links by `root_id`, each product once by `first_in_root`), when the filters are all among them; None
    otherwise. Archived products have no links.
    """
    if query.q or query.min_price is not None or query.max_price is not None or query.attribute_pairs():
        return None
    if query.in_stock is False:  # some variant out of stock: the variants' own condition
        return None
    link = ProductCategory
    where: list[sa.ColumnElement[bool]] = (
        [col(link.root_id) == scope.id, col(link.first_in_root) == sa.true()]
        if scope.root
        else [col(link.category_id) == scope.id]
    )
    if not staff:
        where.append(col(link.is_active) == sa.true())
    if query.is_active is not None:
        where.append(col(link.is_active) == query.is_active)
    if query.in_stock:
        where.append(col(link.in_stock) == sa.true())
    return sa.select(sa.func.count()).select_from(link).where(*where)


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


def encode_cursor(query: ProductQuery, key: Any, last_id: str, page: int) -> str:
    """Where a page ended: its sort, the sort key and id of its last product, its number."""
    value = key.isoformat() if isinstance(key, datetime) else str(key) if isinstance(key, Decimal) else key
    raw = json.dumps([query.sort_by, query.sort_order, value, last_id, page], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _key_value(sort_by: str, value: Any) -> Any:
    if sort_by in ("createdAt", "updatedAt") and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment
    elif sort_by in ("sku", "name") and isinstance(value, str):
        return value
    elif sort_by == "price" and value is None:
        return None  # a product without variants
    elif sort_by == "price" and isinstance(value, str) and (price := Decimal(value)).is_finite():
        return price
    elif sort_by == "averageRating" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    elif sort_by == "reviewCount" and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(value)


def decode_cursor(query: ProductQuery, cursor: str) -> tuple[Any, str, int]:
    """The sort key, id and page number a cursor holds; 400 when it is not one of this sort's."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort_by, sort_order, value, last_id, page = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise BadCursor("not a cursor of this listing (use the nextCursor of a page)") from None
    if [sort_by, sort_order] != [query.sort_by, query.sort_order]:
        raise BadCursor("made for another sortBy or sortOrder")
    if not (isinstance(last_id, str) and isinstance(page, int) and 1 <= page < 100_000):
        raise BadCursor("not a cursor of this listing (use the nextCursor of a page)")
    try:
        return _key_value(sort_by, value), last_id, page
    except (ValueError, TypeError, InvalidOperation):
        raise BadCursor("not a cursor of this listing (use the nextCursor of a page)") from None


def _after(
    key: Any, value: Any, last_id: str, *, descending: bool, nulls_later: bool
) -> sa.ColumnElement[bool]:
    """The rows after (`value`, `last_id`) in the page's order; `nulls_later`: NULL keys (price only) come
    after every value in this walk (the database's own order: NULL is highest on PostgreSQL, lowest on
    SQLite).
    """
    identity = col(Product.id)
    id_after = identity < last_id if descending else identity > last_id
    if value is None:
        among_nulls = sa.and_(key.is_(None), id_after)
        return among_nulls if nulls_later else sa.or_(key.is_not(None), among_nulls)
    bound = sa.tuple_(sa.bindparam(None, value, type_=key.type), sa.bindparam(None, last_id))
    beyond = sa.tuple_(key, identity) < bound if descending else sa.tuple_(key, identity) > bound
    return sa.or_(beyond, key.is_(None)) if nulls_later else beyond


def in_base(query: ProductQuery, rate: Rate) -> ProductQuery:
    """The query with its price bounds, given in `rate`'s currency, in the base currency of the prices."""
    if rate.is_base or (query.min_price is None and query.max_price is None):
        return query
    bounds = {"min_price": query.min_price, "max_price": query.max_price}
    return query.model_copy(update={k: None if v is None else rate.to_base(v) for k, v in bounds.items()})


async def list_products(
    session: AsyncSession, query: ProductQuery, language: str, *, staff: bool, rate: Rate = BASE_RATE
) -> ProductPage:
    """One page of products matching `query`, in `language` and `rate`'s currency, and how many match."""
    meta = Meta.of(rate)
    query = in_base(query, rate)
    scope = await category_scope(session, query.category_slug) if query.category_slug else None
    categories = None if scope is None else scope.ids
    page, offset = query.page, (query.page - 1) * query.limit
    after: tuple[Any, str, int] | None = None
    if query.cursor is not None:
        if "page" in query.model_fields_set:
            raise BadCursor("give a page or a cursor, not both")
        after = decode_cursor(query, query.cursor)
        page, offset = after[2] + 1, 0
    if query.category_slug and scope is None:
        return ProductPage(data=[], meta=meta, pagination=Pagination.of(0, page, query.limit))
    where = filters(query, language, staff=staff)
    counting = None if scope is None else _link_count(query, scope, staff=staff)
    if counting is None:
        counted = where if categories is None else [*where, _in_categories(categories, correlated=False)]
        counting = sa.select(sa.func.count()).select_from(Product).where(*counted)
    total = await session.scalar(counting) or 0
    if categories is not None:
        where.append(_in_categories(categories, correlated=True))
    key = _sort_key(query, language)
    descending = query.sort_order == "desc"
    order = [
        key.desc() if descending else key.asc(),
        col(Product.id).desc() if descending else col(Product.id),
    ]
    if after is not None:
        nulls_high = session.get_bind().dialect.name != "sqlite"
        nulls_later = query.sort_by == "price" and nulls_high != descending
        where.append(_after(key, after[0], after[1], descending=descending, nulls_later=nulls_later))
    rows = (
        await session.execute(
            sa.select(col(Product.id), key).where(*where).order_by(*order).offset(offset).limit(query.limit)
        )
    ).all()
    aggregates = await reads.load_aggregates(session, [product_id for product_id, _ in rows])
    more = rows and page * query.limit < total
    return ProductPage(
        data=[reads.product_view(a, language, staff=staff, rate=rate) for a in aggregates],
        meta=meta,
        pagination=Pagination.of(total, page, query.limit),
        next_cursor=encode_cursor(query, rows[-1][1], rows[-1][0], page) if more else None,
    )
