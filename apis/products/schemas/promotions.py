"""Payloads of `/promotions`: the seed's fields (camelCase), multilingual texts `{"en", "fr", "ar"}`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator
from pydantic.alias_generators import to_camel

from apis.products.schemas.products import ImageUrl, LocalisedName, Schema, Timestamp

Link = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^(https?://|/)\S+$")
]
DisplayOrder = Annotated[int, Field(ge=0, le=1_000_000)]
REQUIRED = ("title", "cta_text", "cta_link", "image_url")
MAX_REORDERED = 500


class PromotionCreate(Schema):
    """`expiresAt`: after it, the storefront no longer shows the promotion (none: until deactivated)."""

    title: LocalisedName
    subtitle: LocalisedName | None = None
    tagline: LocalisedName | None = None
    cta_text: LocalisedName
    cta_link: Link
    image_url: ImageUrl
    product_image_url: ImageUrl | None = None
    expires_at: datetime | None = None
    is_active: bool = False
    display_order: DisplayOrder = 0


class PromotionUpdate(Schema):
    """The fields given change, the others stay (an omitted `expiresAt` is kept; `null` clears it)."""

    title: LocalisedName | None = None
    subtitle: LocalisedName | None = None
    tagline: LocalisedName | None = None
    cta_text: LocalisedName | None = None
    cta_link: Link | None = None
    image_url: ImageUrl | None = None
    product_image_url: ImageUrl | None = None
    expires_at: datetime | None = None
    is_active: bool | None = None
    display_order: DisplayOrder | None = None

    @model_validator(mode="after")
    def _something(self) -> PromotionUpdate:
        if not self.model_fields_set:
            raise ValueError("No valid fields provided for update.")
        for required in (*REQUIRED, "is_active", "display_order"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{to_camel(required)} cannot be null")
        return self


class Reorder(Schema):
    """The promotions in the order to show them: each one's `displayOrder` becomes its index."""

    ordered_ids: Annotated[list[uuid.UUID], Field(max_length=MAX_REORDERED)]

    @field_validator("ordered_ids")
    @classmethod
    def _distinct(cls, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(ids)) != len(ids):
            raise ValueError("an id is listed twice")
        return ids


class _PromotionFields(Schema):
    id: str
    cta_link: str
    image_url: str
    product_image_url: str | None
    expires_at: Timestamp | None
    is_active: bool
    display_order: int
    created_at: Timestamp
    updated_at: Timestamp


class PromotionRead(_PromotionFields):
    """A promotion with its multilingual texts (staff)."""

    title: dict[str, str]
    subtitle: dict[str, str] | None
    tagline: dict[str, str] | None
    cta_text: dict[str, str]


class PromotionView(_PromotionFields):
    """A promotion in the caller's language (the storefront)."""

    title: str
    subtitle: str | None
    tagline: str | None
    cta_text: str
