"""Reading products whole: a product with its variants, images and categories in four queries per page, and
the shapes it is shown in (multilingual, localised, the event document, the order-pricing details).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products.errors import ProductNotFound
from apis.products.models import Category, Product, ProductCategory, ProductImage, Variant
from apis.products.schemas.products import (
    CategoryLabel,
    CategoryRow,
    ImageRead,
    ProductCategoryLink,
    ProductRead,
    ProductView,
    VariantRead,
)
from apis.products.schemas.stock import ProductStamp, VariantDetails, money_text
from contracts.currencies import BASE_CURRENCY, BASE_RATE, Rate
from contracts.images import sized
from kit.localisation import localise

NOT_ARCHIVED = col(Product.archived_at).is_(None)  # an archived product is read as if deleted


@dataclass
class ProductAggregate:
    product: Product
    variants: list[Variant] = field(default_factory=list)
    images: list[ProductImage] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)


async def load_aggregates(session: AsyncSession, ids: Sequence[str]) -> list[ProductAggregate]:
    """The products of `ids` (in that order; unknown ids are left out) with everything they own."""
    if not ids:
        return []
    products = (await session.scalars(sa.select(Product).where(col(Product.id).in_(ids), NOT_ARCHIVED))).all()
    found = {p.id: ProductAggregate(p) for p in products}
    if not found:
        return []
    keys = list(found)
    variants = await session.scalars(
        sa.select(Variant)
        .where(col(Variant.product_id).in_(keys))
        .order_by(col(Variant.created_at), col(Variant.id))
    )
    for variant in variants:
        found[variant.product_id].variants.append(variant)
    images = await session.scalars(
        sa.select(ProductImage)
        .where(col(ProductImage.product_id).in_(keys))
        .order_by(
            col(ProductImage.position).is_(None), col(ProductImage.position), col(ProductImage.created_at)
        )
    )
    for image in images:
        found[image.product_id].images.append(image)
    links = await session.execute(
        sa.select(col(ProductCategory.product_id), Category)
        .join(Category, col(Category.id) == col(ProductCategory.category_id))
        .where(col(ProductCategory.product_id).in_(keys))
        .order_by(col(Category.slug))
    )
    for product_id, category in links:
        found[product_id].categories.append(category)
    return [found[i] for i in ids if i in found]


async def load_aggregate(session: AsyncSession, product_id: str) -> ProductAggregate:
    loaded = await load_aggregates(session, [product_id])
    if not loaded:
        raise ProductNotFound(product_id)
    return loaded[0]


async def load_by_sku(session: AsyncSession, sku: str) -> ProductAggregate | None:
    product_id = await session.scalar(sa.select(col(Product.id)).where(col(Product.sku) == sku))
    found = await load_aggregates(session, [product_id]) if product_id else []
    return found[0] if found else None


def variant_read(variant: Variant, *, staff: bool, rate: Rate = BASE_RATE) -> VariantRead:
    """The variant, its prices in `rate`'s currency and its base price kept; its cost price for staff only."""
    cost = variant.cost_price if staff and variant.cost_price is not None else None
    return VariantRead.model_validate(variant).model_copy(
        update={
            "price": rate.convert(variant.price),
            "base_price": variant.price,
            "cost_price": None if cost is None else rate.convert(cost),
        }
    )


def _variants(aggregate: ProductAggregate, staff: bool, rate: Rate) -> list[VariantRead]:
    return [variant_read(v, staff=staff, rate=rate) for v in aggregate.variants]


def product_read(aggregate: ProductAggregate, *, staff: bool, rate: Rate = BASE_RATE) -> ProductRead:
    """The product with its multilingual texts and the seed's category join rows."""
    product = aggregate.product
    return ProductRead(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        is_active=product.is_active,
        average_rating=product.average_rating,
        review_count=product.review_count,
        created_at=product.created_at,
        updated_at=product.updated_at,
        variants=_variants(aggregate, staff, rate),
        images=[ImageRead.model_validate(image) for image in aggregate.images],
        categories=[
            ProductCategoryLink(
                product_id=product.id, category_id=c.id, category=CategoryRow.model_validate(c)
            )
            for c in aggregate.categories
        ],
    )


def category_label(category: Category, language: str) -> CategoryLabel:
    return CategoryLabel(
        id=category.id,
        name=localise(category.name, language) or category.slug,
        slug=category.slug,
        parent_id=category.parent_id,
        image_url=category.image_url,
        created_at=category.created_at,
        updated_at=category.updated_at,
    )


def product_view(
    aggregate: ProductAggregate, language: str, *, staff: bool, rate: Rate = BASE_RATE
) -> ProductView:
    """The product in `language` (English where a text lacks it)."""
    product = aggregate.product
    return ProductView(
        id=product.id,
        sku=product.sku,
        name=localise(product.name, language) or product.sku,
        description=localise(product.description, language),
        is_active=product.is_active,
        average_rating=product.average_rating,
        review_count=product.review_count,
        created_at=product.created_at,
        updated_at=product.updated_at,
        variants=_variants(aggregate, staff, rate),
        images=[ImageRead.model_validate(image) for image in aggregate.images],
        categories=[category_label(c, language) for c in aggregate.categories],
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _primary(images: Sequence[ProductImage]) -> ProductImage | None:
    """The primary image, else the first, else none (the seed's rule)."""
    return next((i for i in images if i.is_primary), images[0] if images else None)


def primary_image_url(images: Sequence[ProductImage]) -> str | None:
    primary = _primary(images)
    return primary.image_url if primary else None


def thumbnail_url(images: Sequence[ProductImage]) -> str | None:
    """The thumbnail of the primary image when it is one of ours (the images service makes it)."""
    primary = _primary(images)
    return sized(primary.image_url, "thumb") if primary and primary.image_name else None


def product_document(aggregate: ProductAggregate, slugs: Mapping[str, str]) -> dict[str, Any]:
    """The payload of `PRODUCT_CREATED` / `PRODUCT_UPDATED`, field for field the seed's (section 3.2), plus
    `category_parent_slugs` (`slugs`: category id -> slug), so that search finds a parent's products, and
    `revisedAt`, its last change including its variants' stock (`updatedAt` misses stock movements).
    """
    product = aggregate.product
    parents = {c.parent_id for c in aggregate.categories if c.parent_id}
    flat = sorted({f"{key}:{value}" for v in aggregate.variants for key, value in v.attributes.items()})
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "isActive": product.is_active,
        "createdAt": _iso(product.created_at),
        "updatedAt": _iso(product.updated_at),
        "revisedAt": _iso(max([product.updated_at, *(v.updated_at for v in aggregate.variants)])),
        "averageRating": product.average_rating,
        "reviewCount": product.review_count,
        "primaryImageUrl": primary_image_url(aggregate.images),
        "thumbnailUrl": thumbnail_url(aggregate.images),
        "category_names": [c.name for c in aggregate.categories],
        "category_slugs": [c.slug for c in aggregate.categories],
        "category_parent_slugs": sorted(slugs[p] for p in parents if p in slugs),
        "variants": [
            {
                "id": v.id,
                "attributes": v.attributes,
                "price": money_text(v.price),
                "stockQuantity": v.stock_quantity,
            }
            for v in aggregate.variants
        ],
        "variant_attributes_flat": flat,
        "images": [
            {
                "id": i.id,
                "imageUrl": i.image_url,
                "altText": i.alt_text,
                "isPrimary": i.is_primary,
                "order": i.position,
            }
            for i in aggregate.images
        ],
    }


async def product_documents(session: AsyncSession, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Documents of the products that exist among `ids`, by id (a missing id is a deleted product)."""
    aggregates = await load_aggregates(session, list(dict.fromkeys(ids)))
    parents = {c.parent_id for a in aggregates for c in a.categories if c.parent_id}
    slugs: dict[str, str] = {}
    if parents:
        rows = await session.execute(
            sa.select(col(Category.id), col(Category.slug)).where(col(Category.id).in_(parents))
        )
        slugs = dict(rows.all())
    return {a.product.id: product_document(a, slugs) for a in aggregates}


async def product_stamps(session: AsyncSession, *, after: str | None, limit: int) -> list[ProductStamp]:
    """A page of the catalog in id order (archived products are as if deleted), each with its documents'
    `revisedAt`: a reindex, a reconcile.
    """
    query = (
        sa.select(
            col(Product.id),
            col(Product.updated_at),
            col(Product.is_active),
            sa.func.max(col(Variant.updated_at)),
        )
        .outerjoin(Variant, col(Variant.product_id) == col(Product.id))
        .where(NOT_ARCHIVED)
        .group_by(col(Product.id), col(Product.updated_at), col(Product.is_active))
        .order_by(col(Product.id))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(Product.id) > after)
    rows = await session.execute(query)
    return [
        ProductStamp(id=i, revised_at=max(updated, variant or updated), is_active=active)
        for i, updated, active, variant in rows
    ]


async def variant_details(session: AsyncSession, variant_ids: Sequence[str]) -> dict[str, VariantDetails]:
    """Prices and labels of variants, for orders; unknown ids (archived products' too: not orderable) are
    simply absent (the seed's contract).
    """
    rows = (
        await session.execute(
            sa.select(Variant, Product)
            .join(Product, col(Product.id) == col(Variant.product_id))
            .where(col(Variant.id).in_(list(dict.fromkeys(variant_ids))), NOT_ARCHIVED)
        )
    ).all()
    pairs = list(rows)
    images: dict[str, list[ProductImage]] = defaultdict(list)
    if pairs:
        found = await session.scalars(
            sa.select(ProductImage)
            .where(col(ProductImage.product_id).in_({p.id for _, p in pairs}))
            .order_by(col(ProductImage.position).is_(None), col(ProductImage.position))
        )
        for image in found:
            images[image.product_id].append(image)
    return {
        variant.id: VariantDetails(
            price=variant.price,
            cost_price=variant.cost_price,
            base_currency=BASE_CURRENCY,
            attributes=variant.attributes,
            product_id=product.id,
            product_name=product.name,
            sku=product.sku,
            image_url=primary_image_url(images[product.id]),
            is_active=product.is_active,
            stock_quantity=variant.stock_quantity,
        )
        for variant, product in pairs
    }
