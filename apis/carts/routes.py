"""The carts API under `/carts` (the gateway strips the prefix): thin handlers over `service`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from apis.carts import service
from apis.carts.dependencies import CatalogDep
from apis.carts.models import Cart
from apis.carts.schemas import CartAssociate, CartCreate, ItemAdd, ItemUpdate, NoAssociation
from contracts.carts import CART_ITEMS_PATH, CART_PATH
from kit.auth.callers import CurrentUser, OptionalUser
from kit.web import CacheDep

router = APIRouter(tags=["carts"])

CartId = Annotated[uuid.UUID, Path(alias="cartId", description="An unguessable cart id (UUID)")]
ItemId = Annotated[str, Path(alias="itemId", min_length=1, max_length=100)]


def _answer(response: Response, cart: Cart, created: bool) -> Cart:
    response.status_code = 201 if created else 200
    return cart


@router.post(
    "/",
    response_model=Cart,
    status_code=201,
    responses={200: {"model": Cart, "description": "The cart already existed"}},
    summary="Open a cart (201 new, 200 existing)",
)
async def open_cart(
    response: Response,
    cache: CacheDep,
    caller: OptionalUser,
    body: Annotated[CartCreate | None, Body()] = None,
    cart_id: Annotated[uuid.UUID | None, Query(alias="cartId")] = None,
) -> Cart:
    chosen = (body.cart_id if body else None) or cart_id
    cart, created = await service.open_cart(cache, str(chosen) if chosen else None, caller)
    return _answer(response, cart, created)


@router.post(
    "/associate", summary="Give the guest cart to the logged-in user (200 with a message if it is gone)"
)
async def associate(
    data: CartAssociate, cache: CacheDep, catalog: CatalogDep, user: CurrentUser
) -> Cart | NoAssociation:
    cart = await service.associate(cache, catalog, str(data.cart_id), user)
    return cart if cart is not None else NoAssociation()


@router.get(
    CART_PATH,
    response_model=Cart,
    responses={201: {"model": Cart, "description": "A new id: an empty cart was created"}},
    summary="Read a cart (an empty one is created for a new id)",
)
async def read_cart(cart_id: CartId, response: Response, cache: CacheDep, caller: OptionalUser) -> Cart:
    cart, created = await service.read_cart(cache, str(cart_id), caller)
    return _answer(response, cart, created)


@router.post("/{cartId}/items", response_model=Cart, summary="Add units of a variant at the catalog price")
async def add_item(
    cart_id: CartId, data: ItemAdd, cache: CacheDep, catalog: CatalogDep, caller: OptionalUser
) -> Cart:
    return await service.add_item(cache, catalog, str(cart_id), caller, data.variant_id, data.quantity)


@router.put("/{cartId}/items/{itemId}", response_model=Cart, summary="Set a line's quantity")
async def set_quantity(
    cart_id: CartId,
    item_id: ItemId,
    data: ItemUpdate,
    cache: CacheDep,
    catalog: CatalogDep,
    caller: OptionalUser,
) -> Cart:
    return await service.set_quantity(cache, catalog, str(cart_id), caller, item_id, data.quantity)


@router.delete("/{cartId}/items/{itemId}", response_model=Cart, summary="Remove a line")
async def remove_item(cart_id: CartId, item_id: ItemId, cache: CacheDep, caller: OptionalUser) -> Cart:
    return await service.remove_item(cache, str(cart_id), caller, item_id)


@router.delete(CART_ITEMS_PATH, response_model=Cart, summary="Empty the cart")
async def clear_items(cart_id: CartId, cache: CacheDep, caller: OptionalUser) -> Cart:
    return await service.clear_items(cache, str(cart_id), caller)


@router.delete("/{cartId}", status_code=204, summary="Delete the cart")
async def delete_cart(cart_id: CartId, cache: CacheDep, caller: OptionalUser) -> Response:
    await service.delete_cart(cache, str(cart_id), caller)
    return Response(status_code=204)
