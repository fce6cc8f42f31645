"""Categories: a hierarchy of two levels at most, products only on leaves, a category with products never
gets children. Changes are announced (`CATEGORY_*`), and a new name or slug re-syncs the products on it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products.errors import CategoryNotFound, CategoryRuleViolated, CategoryTooDeep, SlugTaken
from apis.products.events import Notifier
from apis.products.models import Category, Product, ProductCategory
from apis.products.reads import category_label
from apis.products.schemas.categories import (
    CategoryCreate,
    CategoryCreated,
    CategoryDetail,
    CategoryUpdate,
    CategoryView,
)
from apis.products.schemas.products import CategoryRow, texts
from apis.products.service.catalog import relink
from contracts import products
from kit.db import commit, now


def _row(category: Category) -> CategoryRow:
    return CategoryRow.model_validate(category)


def _payload(category: Category) -> dict[str, object]:
    return _row(category).model_dump(mode="json", by_alias=True)


async def _get(session: AsyncSession, category_id: str) -> Category:
    category = await session.get(Category, category_id)
    if category is None:
        raise CategoryNotFound(category_id)
    return category


async def _has_products(session: AsyncSession, category_id: str) -> bool:
    query = sa.select(col(ProductCategory.product_id)).where(col(ProductCategory.category_id) == category_id)
    return await session.scalar(query.limit(1)) is not None


async def _has_children(session: AsyncSession, category_id: str) -> bool:
    query = sa.select(col(Category.id)).where(col(Category.parent_id) == category_id)
    return await session.scalar(query.limit(1)) is not None


async def _check_parent(session: AsyncSession, parent_id: str, *, moving: bool) -> None:
    parent = await session.get(Category, parent_id)
    if parent is None:
        raise CategoryNotFound(parent_id, what="Parent category")
    if parent.parent_id is not None:
        raise CategoryTooDeep(
            "Cannot move category under a level 2 category."
            if moving
            else "Cannot create a category under a level 2 category. Hierarchy is limited to 2 levels."
        )
    if await _has_products(session, parent_id):
        raise CategoryRuleViolated(
            "The new parent category cannot have products."
            if moving
            else "Cannot add a child to a category that has products assigned to it."
        )


async def _commit_or_slug_taken(session: AsyncSession, slug: str) -> None:
    await commit(session, conflict=lambda: SlugTaken(slug))


async def _refuse_taken_slug(session: AsyncSession, slug: str) -> None:
    if await session.scalar(sa.select(col(Category.id)).where(col(Category.slug) == slug)) is not None:
        raise SlugTaken(slug)


async def create_category(session: AsyncSession, notify: Notifier, data: CategoryCreate) -> CategoryCreated:
    await _refuse_taken_slug(session, data.slug)
    if data.parent_id is not None:
        await _check_parent(session, str(data.parent_id), moving=False)
    category = Category(
        name=texts(data.name) or {},
        slug=data.slug,
        parent_id=str(data.parent_id) if data.parent_id else None,
        image_url=data.image_url,
    )
    session.add(category)
    notify.category_event(session, products.CATEGORY_CREATED, category.id, _payload(category))
    await _commit_or_slug_taken(session, data.slug)
    return CategoryCreated(**_row(category).model_dump(), is_leaf=True, product_count=0, sub_category_count=0)


async def update_category(
    session: AsyncSession, notify: Notifier, category_id: str, data: CategoryUpdate
) -> CategoryRow:
    """Rename, re-slug, move (`parentId`, null for a root) or re-picture a category."""
    category = await _get(session, category_id)
    fields = data.model_fields_set
    if "parent_id" in fields:
        parent_id = str(data.parent_id) if data.parent_id else None
        if parent_id == category_id:
            raise CategoryRuleViolated("A category cannot be its own parent.", code="CategoryOwnParent")
        if parent_id is not None and parent_id != category.parent_id:
            await _check_parent(session, parent_id, moving=True)
            if await _has_children(session, category_id):
                raise CategoryRuleViolated(
                    "Cannot move a category that has children. Move its children first."
                )
        relabelled = moved = parent_id != category.parent_id
        category.parent_id = parent_id
    else:
        relabelled = moved = False
    if "slug" in fields and data.slug and data.slug != category.slug:
        await _refuse_taken_slug(session, data.slug)
        category.slug, relabelled = data.slug, True
    if "name" in fields and data.name is not None:
        category.name, relabelled = texts(data.name) or {}, True
    if "image_url" in fields:
        category.image_url = data.image_url
    category.updated_at = now()
    notify.category_event(session, products.CATEGORY_UPDATED, category_id, _payload(category))
    if relabelled:  # product documents carry category names and slugs, and their parents' slugs
        children = sa.select(col(Category.id)).where(col(Category.parent_id) == category_id)
        linked = await session.scalars(
            sa.select(col(ProductCategory.product_id))
            .where(
                (col(ProductCategory.category_id) == category_id)
                | col(ProductCategory.category_id).in_(children)
            )
            .distinct()
        )
        notify.products_changed(session, linked.all(), "updated")
    if moved:  # a leaf with products (one with children never moves): its links' root changes
        await _relink_moved(session, category_id)
    await _commit_or_slug_taken(session, category.slug)
    return _row(category)


async def _relink_moved(session: AsyncSession, category_id: str) -> None:
    """The moved category's products, locked first (PostgreSQL; SQLite has one writer) so that a concurrent
    change of their links commits before, and is seen by, the relink.
    """
    on_it = sa.select(col(ProductCategory.product_id)).where(col(ProductCategory.category_id) == category_id)
    await session.execute(
        sa.select(col(Product.id))
        .where(col(Product.id).in_(on_it))
        .order_by(col(Product.id))
        .with_for_update()
    )
    await relink(session, on_it)


async def delete_category(session: AsyncSession, notify: Notifier, category_id: str) -> None:
    """Delete an empty leaf; 404 for an unknown id (the seed answered 204)."""
    await _get(session, category_id)
    if await _has_children(session, category_id):
        raise CategoryRuleViolated("Cannot delete category with children. Reassign or delete children first.")
    if await _has_products(session, category_id):
        raise CategoryRuleViolated(
            "Cannot delete category with associated products. Disassociate products first."
        )
    await session.execute(sa.delete(Category).where(col(Category.id) == category_id))
    notify.category_event(session, products.CATEGORY_DELETED, category_id, {"id": category_id})
    # a product or child arrived meanwhile
    await commit(session, conflict=lambda: CategoryRuleViolated("The category is no longer empty."))


async def _counts(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
    products = await session.execute(
        sa.select(col(ProductCategory.category_id), sa.func.count()).group_by(
            col(ProductCategory.category_id)
        )
    )
    children = await session.execute(
        sa.select(col(Category.parent_id), sa.func.count())
        .where(col(Category.parent_id).is_not(None))
        .group_by(col(Category.parent_id))
    )
    return {str(k): int(v) for k, v in products.all()}, {str(k): int(v) for k, v in children.all()}


async def list_categories(session: AsyncSession, language: str, *, tree: bool) -> list[CategoryView]:
    """Every category in `language`, sorted by name; as a tree of roots with their `children`, or flat."""
    found = (await session.scalars(sa.select(Category))).all()
    products, children = await _counts(session)
    views = {
        c.id: CategoryView(
            **category_label(c, language).model_dump(),
            is_leaf=children.get(c.id, 0) == 0,
            product_count=products.get(c.id, 0),
            sub_category_count=children.get(c.id, 0),
        )
        for c in found
    }
    ordered = sorted(views.values(), key=lambda v: (v.name.casefold(), v.slug))
    if not tree:
        return ordered
    for view in ordered:
        if view.parent_id is not None and view.parent_id in views:
            parent = views[view.parent_id]
            parent.children = [*(parent.children or []), view]
    return [view for view in ordered if view.parent_id is None]


async def category_detail(
    session: AsyncSession, language: str, *, category_id: str | None = None, slug: str | None = None
) -> CategoryDetail:
    if category_id is not None:
        category = await _get(session, category_id)
    else:
        found = await session.scalar(sa.select(Category).where(col(Category.slug) == slug))
        if found is None:
            raise CategoryNotFound(slug or "", by="slug")
        category = found
    parent = await session.get(Category, category.parent_id) if category.parent_id else None
    children = (
        await session.scalars(sa.select(Category).where(col(Category.parent_id) == category.id))
    ).all()
    product_count = await session.scalar(
        sa.select(sa.func.count()).where(col(ProductCategory.category_id) == category.id)
    )
    return CategoryDetail(
        **category_label(category, language).model_dump(),
        is_leaf=not children,
        product_count=product_count or 0,
        sub_category_count=len(children),
        parent=category_label(parent, language) if parent else None,
        children=sorted((category_label(c, language) for c in children), key=lambda c: c.name.casefold()),
    )
