"""What the reviews routes take and answer, in the seed's shapes (camelCase, `{data, pagination}`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from contracts.reviews import MAX_RATING
from kit.schemas import Pagination, Schema, Timestamp

# An integer from 1 to 5: "4" or 4.5 is refused (strict), not rounded.
Rating = Annotated[int, Field(ge=1, le=MAX_RATING, strict=True, description="1 to 5 stars")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class ReviewCreate(Schema):
    product_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    rating: Rating
    title: Title | None = None
    comment: Comment


class ReviewUpdate(Schema):
    """The fields to change; those left out keep their value."""

    rating: Rating | None = None
    title: Title | None = None
    comment: Comment | None = None

    @field_validator("rating", "comment", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Sent as null: refused under its own name (only `title` may be emptied)."""
        if value is None:
            raise ValueError("may not be null")
        return value

    @model_validator(mode="after")
    def _something(self) -> ReviewUpdate:
        if not self.model_fields_set & {"rating", "title", "comment"}:
            raise ValueError("give at least one of rating, title, comment")
        return self


class Reviewer(Schema):
    id: str
    name: str
    profile_image: str | None = None


class ReviewedProduct(Schema):
    id: str
    name: str | None = Field(description="in the caller's Accept-Language")
    sku: str
    image_url: str | None = None


class ReviewRead(Schema):
    id: str
    rating: int
    title: str | None
    comment: str
    is_verified_purchase: bool = Field(description="the reviewer had a delivered order holding the product")
    user_id: str
    product_id: str
    created_at: Timestamp
    updated_at: Timestamp
    user: Reviewer
    product: ReviewedProduct


class ReviewPage(Schema):
    data: list[ReviewRead]
    pagination: Pagination
