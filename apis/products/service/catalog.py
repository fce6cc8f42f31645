"""Writing products: creation (one or a batch, with variants, initial stock, images, categories), updates and
deletion (a product's categories and images: attachments.py). Each function commits its change together with
its notification (events.Notifier), so a change is never announced without having happened, nor lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from apis.products import reads
from apis.products.errors import NotLeafCategories, ProductNotFound, SkuTaken, UnknownCategories
from apis.products.events import Notifier
from apis.products.models import (
    Base,
    Category,
    Product,
    ProductCategory,
    ProductImage,
    StockMovement,
    StockMovementType,
    Variant,
)
from apis.products.schemas.products import ImageCreate, ProductCreate, ProductUpdate, VariantCreate, texts
from apis.products.service import images
from apis.products.service.images import ImageCheck
from kit.db import commit, new_id, now
from kit.localisation import localise


async def check_leaf_categories(session: AsyncSession, ids: Iterable[uuid.UUID | str]) -> list[str]:
    """The ids, once each, after checking they exist (404) and have no children (409)."""
    wanted = list(dict.fromkeys(str(i) for i in ids))
    if not wanted:
        return []
    found = (await session.scalars(sa.select(Category).where(col(Category.id).in_(wanted)))).all()
    missing = set(wanted) - {c.id for c in found}
    if missing:
        raise UnknownCategories(missing)
    parents = set(
        (
            await session.scalars(
                sa.select(col(Category.parent_id)).where(col(Category.parent_id).in_(wanted))
            )
        ).all()
    )
    if parents:
        raise NotLeafCategories(localise(c.name, "en") or c.slug for c in found if c.id in parents)
    return wanted


def variant_rows(
    product_id: str, variants: Sequence[VariantCreate], reason: str
) -> tuple[list[Any], list[Any]]:
    """Rows of new variants and their `INITIAL_STOCK` movements: ledger and quantity agree from the start."""
    moment, rows, movements = now(), [], []
    for index, data in enumerate(variants):
        created = moment + timedelta(microseconds=index)  # keeps the given order of variants
        variant_id = new_id()
        rows.append(
            {
                "id": variant_id,
                "product_id": product_id,
                "attributes": data.attributes,
                "price": data.price,
                "cost_price": data.cost_price,
                "stock_quantity": data.initial_stock_quantity,
                "low_stock_threshold": data.low_stock_threshold,
                "created_at": created,
                "updated_at": created,
            }
        )
        if data.initial_stock_quantity > 0:
            movements.append(
                {
                    "id": new_id(),
                    "variant_id": variant_id,
                    "change_quantity": data.initial_stock_quantity,
                    "quantity_after": data.initial_stock_quantity,
                    "type": StockMovementType.INITIAL_STOCK.value,
                    "reason": reason,
                    "related_order_id": None,
                    "idempotency_key": None,
                    "timestamp": created,
                }
            )
    return rows, movements


def image_rows(
    product_id: str,
    images: Sequence[ImageCreate],
    *,
    names: Mapping[str, str] | None = None,
    first_position: int = 0,
) -> list[Any]:
    """Rows of a product's images; `names` (url -> name, from `images.claim`) marks those of ours."""
    moment = now()
    return [
        {
            "id": new_id(),
            "product_id": product_id,
            "image_url": image.image_url,
            "image_name": (names or {}).get(image.image_url),
            "alt_text": image.alt_text,
            "is_primary": image.is_primary,
            "position": image.order if image.order is not None else first_position + index,
            "created_at": moment,
        }
        for index, image in enumerate(images)
    ]


async def _refuse_taken_skus(session: AsyncSession, skus: Sequence[str]) -> None:
    seen: set[str] = set()
    for sku in skus:
        if sku in seen:
            raise SkuTaken(sku)
        seen.add(sku)
    taken = (await session.scalars(sa.select(col(Product.sku)).where(col(Product.sku).in_(skus)))).first()
    if taken is not None:
        raise SkuTaken(taken)


async def insert_products(
    session: AsyncSession,
    notify: Notifier,
    drafts: Sequence[ProductCreate],
    *,
    image_names: Mapping[str, str] | None = None,
) -> list[str]:
    """Add products in the session's transaction, in bulk statements (the generator's path to 100k); the
    caller commits. Every draft is checked first: unknown or non-leaf categories, SKUs already taken.
    """
    await _refuse_taken_skus(session, [d.sku for d in drafts])
    leaf = await check_leaf_categories(session, {c for d in drafts for c in d.category_ids})
    known = set(leaf)
    moment = now()
    products: list[dict[str, Any]] = []
    variants, movements, images, links = [], [], [], []
    for draft in drafts:
        product_id = new_id()
        products.append(
            {
                "id": product_id,
                "sku": draft.sku,
                "name": texts(draft.name),
                "description": texts(draft.description),
                "is_active": draft.is_active,
                "average_rating": 0.0,
                "review_count": 0,
                "created_at": moment,
                "updated_at": moment,
                "min_price": min((v.price for v in draft.variants), default=None),
                "in_stock": any(v.initial_stock_quantity > 0 for v in draft.variants),
            }
        )
        rows, initial = variant_rows(product_id, draft.variants, "Product Creation Initial Stock")
        variants += rows
        movements += initial
        images += image_rows(product_id, draft.images, names=image_names)
        links += [
            {"product_id": product_id, "category_id": str(c)} for c in draft.category_ids if str(c) in known
        ]
    tables: list[tuple[type[SQLModel], list[dict[str, Any]]]] = [
        (Product, products),
        (Variant, variants),
        (StockMovement, movements),
        (ProductImage, images),
        (ProductCategory, links),
    ]
    for model, rows in tables:
        if rows:  # Core inserts: no ORM bookkeeping per row
            await session.execute(sa.insert(Base.metadata.tables[str(model.__tablename__)]), rows)
    ids = [str(row["id"]) for row in products]
    if links:
        await relink(session, sorted({link["product_id"] for link in links}))
    notify.products_created(session, ids)
    return ids


async def commit_or_sku_taken(session: AsyncSession, skus: Sequence[str]) -> None:
    """Commit; a concurrent writer that took one of `skus` first makes this a 409, not a 500."""
    try:
        await commit(session)
    except IntegrityError:
        await _refuse_taken_skus(session, skus)
        raise


async def create_products(
    session: AsyncSession, notify: Notifier, check: ImageCheck, drafts: Sequence[ProductCreate]
) -> list[str]:
    """Create products with everything they come with, all in one transaction (or none); their ids."""
    names = await images.claim(session, check, [i.image_url for d in drafts for i in d.images])
    try:
        ids = await insert_products(session, notify, drafts, image_names=names)
        await commit(session)
    except IntegrityError:  # a concurrent writer took a SKU between the check and the insert
        await session.rollback()
        await _refuse_taken_skus(session, [d.sku for d in drafts])
        raise
    return ids


async def create_product(
    session: AsyncSession, notify: Notifier, check: ImageCheck, data: ProductCreate
) -> reads.ProductAggregate:
    [product_id] = await create_products(session, notify, check, [data])
    return await reads.load_aggregate(session, product_id)


async def live_product(session: AsyncSession, product_id: str) -> Product:
    """The product, unless it does not exist or is archived (404 either way)."""
    product = await session.scalar(
        sa.select(Product).where(col(Product.id) == product_id, reads.NOT_ARCHIVED)
    )
    if product is None:
        raise ProductNotFound(product_id)
    return product


async def update_product(
    session: AsyncSession, notify: Notifier, product_id: str, data: ProductUpdate
) -> reads.ProductAggregate:
    """Change the fields sent (`sku`, `name`, `description`, `isActive`)."""
    product = await live_product(session, product_id)
    fields = data.model_fields_set
    if "sku" in fields and data.sku and data.sku != product.sku:
        await _refuse_taken_skus(session, [data.sku])
        product.sku = data.sku
    if "name" in fields and data.name is not None:
        product.name = texts(data.name) or {}
    if "description" in fields:
        product.description = texts(data.description)
    if "is_active" in fields and data.is_active is not None and data.is_active != product.is_active:
        product.is_active = data.is_active
        await relink(session, [product_id])
    product.updated_at = now()
    notify.product_changed(session, product_id)
    await commit_or_sku_taken(session, [product.sku])
    return await reads.load_aggregate(session, product_id)


async def delete_product(session: AsyncSession, notify: Notifier, product_id: str) -> None:
    """Remove a product never ordered, with its variants, their stock history, its images and categories.
    A product whose variants have orders is archived instead, so that those orders can still release or
    return their stock and the ledger keeps their history.
    """
    found = await session.execute(
        sa.update(Product).where(col(Product.id) == product_id, reads.NOT_ARCHIVED).values(updated_at=now())
    )  # written first: SQLite's single writer is ours until the commit
    if getattr(found, "rowcount", 0) == 0:
        await session.rollback()
        raise ProductNotFound(product_id)
    variants = sa.select(col(Variant.id)).where(col(Variant.product_id) == product_id)
    await session.execute(variants.with_for_update())  # PostgreSQL: a reservation in flight commits first
    ordered = sa.select(col(StockMovement.id)).where(
        col(StockMovement.variant_id).in_(variants), col(StockMovement.related_order_id).is_not(None)
    )
    if await session.scalar(ordered.limit(1)) is None:
        await session.execute(sa.delete(Product).where(col(Product.id) == product_id))
    else:
        await _archive(session, product_id)
    notify.product_changed(session, product_id, "deleted")
    await commit(session)


async def _archive(session: AsyncSession, product_id: str) -> None:
    """Hide the product as if deleted and free its SKU (`archived:{id}` fits no SKU); keep its rows."""
    await session.execute(
        sa.update(Product)
        .where(col(Product.id) == product_id)
        .values(
            archived_at=now(),
            archived_sku=col(Product.sku),
            sku=f"archived:{product_id}",
            is_active=False,
        )
    )
    await session.execute(sa.delete(ProductCategory).where(col(ProductCategory.product_id) == product_id))


def _lowest_price(product_id: str) -> sa.ScalarSelect[Any]:
    return (
        sa.select(sa.func.min(col(Variant.price)))
        .where(col(Variant.product_id) == product_id)
        .scalar_subquery()
    )


def _stocked(product_id: str) -> sa.Exists:
    return sa.exists().where(col(Variant.product_id) == product_id, col(Variant.stock_quantity) > 0)


def _root(category_id: Any) -> sa.ScalarSelect[Any]:
    """The root of a category: its parent, or itself (two levels at most)."""
    category = sa.alias(Category.__table__)  # type: ignore[attr-defined]
    root = sa.func.coalesce(category.c.parent_id, category.c.id)
    return sa.select(root).where(category.c.id == category_id).correlate_except(category).scalar_subquery()


async def relink(session: AsyncSession, product_ids: Sequence[str] | sa.Select[Any]) -> None:
    """Recompute the listing columns of the products' category links from the truth: the product's
    `is_active` and `in_stock`, the link's root category, and whether it is the product's first link (by
    category id) under that root, which a category-with-children count counts alone (a product on two
    leaves of one root is one product). Idempotent; called in the transaction of every write that changes
    any of them, after that write took the product's row (or the moved category's products) first.
    """
    await session.flush()  # an ORM change of `is_active` is what the statement must read
    links: sa.Table = ProductCategory.__table__  # type: ignore[attr-defined]
    product: sa.Table = Product.__table__  # type: ignore[attr-defined]
    other = sa.alias(links)
    of_product = product.c.id == links.c.product_id
    earlier_in_root = sa.exists().where(
        other.c.product_id == links.c.product_id,
        other.c.category_id < links.c.category_id,
        _root(other.c.category_id) == _root(links.c.category_id),
    )
    await session.execute(
        sa.update(links)
        .where(links.c.product_id.in_(product_ids))
        .values(
            is_active=sa.select(product.c.is_active).where(of_product).scalar_subquery(),
            in_stock=sa.select(product.c.in_stock).where(of_product).scalar_subquery(),
            root_id=_root(links.c.category_id),
            first_in_root=~earlier_in_root,
        )
    )


async def refresh_listing(session: AsyncSession, product_id: str, *, price: bool = True) -> None:
    """Recompute the product's listing columns (`min_price`, `in_stock`) from its variants, writing only what
    changed (and its category links' copy of `in_stock` when it did). Called under the product's row lock
    (`touch`, `lock_for_stock`), so that it reads the variants as the last writer left them.
    """
    stocked = _stocked(product_id)
    flipped = await session.execute(
        sa.update(Product)
        .where(col(Product.id) == product_id, col(Product.in_stock) != stocked)
        .values(in_stock=stocked)
    )
    if getattr(flipped, "rowcount", 0):
        await relink(session, [product_id])
    if price:
        lowest = _lowest_price(product_id)
        await session.execute(
            sa.update(Product)
            .where(col(Product.id) == product_id, col(Product.min_price).is_distinct_from(lowest))
            .values(min_price=lowest)
        )


async def touch(session: AsyncSession, notify: Notifier, product_id: str) -> None:
    """Mark the product changed (its `updatedAt`, its sync); 404 when it does not exist."""
    touched = await session.execute(
        sa.update(Product).where(col(Product.id) == product_id, reads.NOT_ARCHIVED).values(updated_at=now())
    )
    if getattr(touched, "rowcount", 0) == 0:
        await session.rollback()
        raise ProductNotFound(product_id)
    notify.product_changed(session, product_id)
