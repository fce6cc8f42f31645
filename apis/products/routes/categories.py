"""`/categories`: a two-level hierarchy with multilingual names."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from apis.products.dependencies import NotifierDep
from apis.products.schemas.categories import (
    CategoryCreate,
    CategoryCreated,
    CategoryDetail,
    CategoryQuery,
    CategoryUpdate,
    CategoryView,
    Slug,
)
from apis.products.schemas.products import CategoryRow
from apis.products.service import categories
from kit.auth.callers import require_permission
from kit.localisation import LanguageDep
from kit.web import SessionDep

router = APIRouter(prefix="/categories", tags=["categories"])
CategoryId = Annotated[uuid.UUID, Path(description="the category's id")]


@router.get("", summary="All categories, flat or as a tree (`format=tree`), sorted by name")
async def list_categories(
    session: SessionDep, language: LanguageDep, query: Annotated[CategoryQuery, Query()]
) -> list[CategoryView]:
    return await categories.list_categories(session, language, tree=query.format == "tree")


@router.get("/id/{category_id}", summary="A category with its parent and children")
async def get_category(session: SessionDep, language: LanguageDep, category_id: CategoryId) -> CategoryDetail:
    return await categories.category_detail(session, language, category_id=str(category_id))


@router.get("/slug/{slug}", summary="A category by slug, with its parent and children")
async def get_category_by_slug(session: SessionDep, language: LanguageDep, slug: Slug) -> CategoryDetail:
    return await categories.category_detail(session, language, slug=slug)


@router.post(
    "",
    status_code=201,
    summary="Create a category (under a root at most)",
    dependencies=[require_permission("create:category")],
)
async def create_category(session: SessionDep, notify: NotifierDep, data: CategoryCreate) -> CategoryCreated:
    return await categories.create_category(session, notify, data)


@router.put(
    "/{category_id}",
    summary="Rename, re-slug or move a category",
    dependencies=[require_permission("update:category")],
)
async def update_category(
    session: SessionDep, notify: NotifierDep, category_id: CategoryId, data: CategoryUpdate
) -> CategoryRow:
    return await categories.update_category(session, notify, str(category_id), data)


@router.delete(
    "/{category_id}",
    status_code=204,
    summary="Delete an empty leaf category",
    dependencies=[require_permission("delete:category")],
)
async def delete_category(session: SessionDep, notify: NotifierDep, category_id: CategoryId) -> Response:
    await categories.delete_category(session, notify, str(category_id))
    return Response(status_code=204)
