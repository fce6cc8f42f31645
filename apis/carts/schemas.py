"""Request bodies of the carts API (camelCase, as the seed's clients send them)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field

from apis.carts.rules import MAX_LINE_QUANTITY
from kit.schemas import Schema

Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_LINE_QUANTITY)]


class CartCreate(Schema):
    """`cartId` may come in the body or, as the seed's clients send it, in the query string."""

    cart_id: uuid.UUID | None = None


class ItemAdd(Schema):
    """Only the variant and the quantity are read: price, name and image come from the catalog."""

    variant_id: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Quantity
    product_id: str | None = None


class ItemUpdate(Schema):
    quantity: Quantity


class NoAssociation(Schema):
    """The seed's answer when the guest cart is gone (expired, or never existed): nothing to associate."""

    message: str = "Cart not found, no association needed."


class CartAssociate(Schema):
    """The user comes from the token; a `userId` in the body is ignored."""

    cart_id: uuid.UUID
