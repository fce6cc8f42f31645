"""A cart as stored: one JSON document per cart under `cart:{id}`, in the seed's shape (camelCase)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, computed_field

from kit.db import new_id, now
from kit.schemas import Money, Schema


class CartItem(Schema):
    """One line; everything but `quantity` comes from the catalog, never from the client."""

    item_id: str = Field(default_factory=new_id)
    product_id: str
    variant_id: str
    quantity: int
    price: Money
    name: Any = None
    image_url: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    added_at: datetime = Field(default_factory=now)


class Cart(Schema):
    id: str
    user_id: str | None = None
    items: list[CartItem] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    merged_cart_ids: list[str] = Field(default_factory=list, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def subtotal(self) -> Money:
        return sum((item.price * item.quantity for item in self.items), Decimal("0"))

    def line(self, variant_id: str) -> CartItem | None:
        return next((item for item in self.items if item.variant_id == variant_id), None)

    def to_bytes(self) -> bytes:
        stored = self.model_dump(mode="json", by_alias=True, exclude={"subtotal"})
        stored["mergedCartIds"] = self.merged_cart_ids  # remembered so that a retried merge adds nothing
        return json.dumps(stored).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Cart:
        return cls.model_validate_json(data)
