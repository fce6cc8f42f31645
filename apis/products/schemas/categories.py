"""Payloads of `/categories`: a two-level hierarchy with multilingual names."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from apis.products.schemas.products import (
    CategoryLabel,
    CategoryRow,
    ImageUrl,
    LocalisedName,
    Schema,
    Timestamp,
)

Slug = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=120, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]


class CategoryCreate(Schema):
    name: LocalisedName
    slug: Slug
    parent_id: uuid.UUID | None = None
    image_url: ImageUrl | None = None


class CategoryUpdate(Schema):
    """Only the fields sent change; `parentId: null` makes the category a root."""

    name: LocalisedName | None = None
    slug: Slug | None = None
    parent_id: uuid.UUID | None = None
    image_url: ImageUrl | None = None

    @model_validator(mode="after")
    def _something(self) -> CategoryUpdate:
        if not self.model_fields_set:
            raise ValueError("No valid fields provided for update.")
        for required in ("name", "slug"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be null")
        return self


class CategoryQuery(Schema):
    format: Literal["flat", "tree"] = "flat"


class CategoryCounts(Schema):
    is_leaf: bool
    product_count: int
    sub_category_count: int


class CategoryView(CategoryLabel, CategoryCounts):
    """A category in the caller's language, with its counts; `children` only in the tree, when it has some."""

    children: list[CategoryView] | None = Field(default=None, exclude_if=lambda value: not value)


class CategoryDetail(CategoryCounts):
    """`GET /categories/id/{id}` and `/slug/{slug}`: the category, its parent and its children."""

    id: str
    name: str
    slug: str
    parent_id: str | None
    image_url: str | None
    created_at: Timestamp
    updated_at: Timestamp
    parent: CategoryLabel | None
    children: list[CategoryLabel]


class CategoryCreated(CategoryRow, CategoryCounts):
    """What `POST /categories` answers: the stored row and its (new) counts."""
