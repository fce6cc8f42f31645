"""`/` of the products service (`/products` at the gateway): products, their categories and images."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from apis.products import listing, reads
from apis.products.dependencies import DisplayRate, ImageCheckDep, NotifierDep, StaffDep
from apis.products.errors import ProductNotFound
from apis.products.schemas.products import (
    BulkCreated,
    CategoryIdsBody,
    CreatedProduct,
    ImageIdsBody,
    ImageList,
    Message,
    Meta,
    ProductCreate,
    ProductEnvelope,
    ProductPage,
    ProductQuery,
    ProductRead,
    ProductUpdate,
)
from apis.products.service import attachments, catalog
from kit.auth.callers import require_permission
from kit.errors import NotFound
from kit.localisation import LanguageDep
from kit.web import SessionDep

router = APIRouter(tags=["products"])
ProductId = Annotated[uuid.UUID, Path(description="the product's id")]


@router.get(
    "/",
    summary="List products: filters, sorting, pagination; texts in the caller's language, prices in the "
    "currency of `X-Currency` (`minPrice`/`maxPrice` too)",
)
async def list_products(
    session: SessionDep,
    query: Annotated[ProductQuery, Query()],
    language: LanguageDep,
    staff: StaffDep,
    rate: DisplayRate,
) -> ProductPage:
    return await listing.list_products(session, query, language, staff=staff, rate=rate)


@router.get(
    "/id/{product_id}", summary="One product with its multilingual texts, prices as `X-Currency` asks"
)
async def get_product(
    session: SessionDep, product_id: ProductId, staff: StaffDep, rate: DisplayRate
) -> ProductEnvelope:
    aggregate = await reads.load_aggregate(session, str(product_id))
    if not (aggregate.product.is_active or staff):
        raise ProductNotFound(str(product_id))
    return ProductEnvelope(data=reads.product_read(aggregate, staff=staff, rate=rate), meta=Meta.of(rate))


@router.get(
    "/sku/{sku}",
    summary="One product by SKU (no envelope, as in the seed: `displayCurrency` names the currency of the "
    "prices `X-Currency` asks for)",
)
async def get_product_by_sku(
    session: SessionDep, sku: str, staff: StaffDep, rate: DisplayRate
) -> ProductRead:
    aggregate = await reads.load_by_sku(session, sku)
    if aggregate is None or not (aggregate.product.is_active or staff):
        raise ProductNotFound(sku)
    return reads.product_read(aggregate, staff=staff, rate=rate).model_copy(
        update={"display_currency": rate.code}
    )


@router.post(
    "/",
    status_code=201,
    summary="Create a product with its variants, images and categories",
    dependencies=[require_permission("create:product")],
)
async def create_product(
    session: SessionDep, notify: NotifierDep, check: ImageCheckDep, data: ProductCreate
) -> ProductRead:
    return reads.product_read(await catalog.create_product(session, notify, check, data), staff=True)


@router.post(
    "/bulk",
    status_code=201,
    summary="Create up to 500 products in one transaction (the seed's /bulk, now authenticated)",
    dependencies=[require_permission("create:product")],
)
async def create_products(
    session: SessionDep,
    notify: NotifierDep,
    check: ImageCheckDep,
    drafts: Annotated[list[ProductCreate], Body(min_length=1, max_length=500)],
) -> BulkCreated:
    ids = await catalog.create_products(session, notify, check, drafts)
    return BulkCreated(
        message=f"Successfully created {len(ids)} products.",
        created_products=[CreatedProduct(id=i, sku=d.sku) for i, d in zip(ids, drafts, strict=True)],
    )


@router.get("/{word}", include_in_schema=False)
async def no_product_here(word: str) -> None:
    """`GET /products/<anything>` names no product (they are read at `/id/{id}` and `/sku/{sku}`): a 404,
    where the PUT and DELETE of `/{product_id}` would have made it a 405.
    """
    raise NotFound(
        "No route here: read a product at /products/id/<id> or /products/sku/<sku>.",
        code="RouteNotFound",
    )


@router.put(
    "/{product_id}",
    summary="Change a product's SKU, texts or activity",
    dependencies=[require_permission("update:product")],
)
async def update_product(
    session: SessionDep, notify: NotifierDep, product_id: ProductId, data: ProductUpdate
) -> ProductRead:
    aggregate = await catalog.update_product(session, notify, str(product_id), data)
    return reads.product_read(aggregate, staff=True)


@router.delete(
    "/{product_id}",
    status_code=204,
    summary="Delete a product (archived instead, its ledger kept, when its variants have orders)",
    dependencies=[require_permission("delete:product")],
)
async def delete_product(session: SessionDep, notify: NotifierDep, product_id: ProductId) -> Response:
    await catalog.delete_product(session, notify, str(product_id))
    return Response(status_code=204)


@router.post(
    "/{product_id}/categories",
    status_code=201,
    summary="Put a product on more leaf categories",
    dependencies=[require_permission("update:product")],
)
async def add_categories(
    session: SessionDep, notify: NotifierDep, product_id: ProductId, data: CategoryIdsBody
) -> Message:
    await attachments.add_categories(session, notify, str(product_id), data.category_ids)
    return Message(message=f"Added categories to product {product_id}.")


@router.delete(
    "/{product_id}/categories",
    summary="Take a product off categories",
    dependencies=[require_permission("update:product")],
)
async def remove_categories(
    session: SessionDep, notify: NotifierDep, product_id: ProductId, data: CategoryIdsBody
) -> Message:
    removed = await attachments.remove_categories(session, notify, str(product_id), data.category_ids)
    return Message(message=f"Removed {removed} categories from product {product_id}.")


@router.post(
    "/{product_id}/images",
    status_code=201,
    summary="Add images (a JSON array) to a product",
    dependencies=[require_permission("update:product")],
)
async def add_images(
    session: SessionDep,
    notify: NotifierDep,
    check: ImageCheckDep,
    product_id: ProductId,
    images: Annotated[ImageList, Body(min_length=1)],
) -> Message:
    await attachments.add_images(session, notify, check, str(product_id), images)
    return Message(message=f"Added images to product {product_id}.")


@router.delete(
    "/{product_id}/images",
    summary="Remove images of a product",
    dependencies=[require_permission("update:product")],
)
async def remove_images(
    session: SessionDep, notify: NotifierDep, product_id: ProductId, data: ImageIdsBody
) -> Message:
    removed = await attachments.remove_images(session, notify, str(product_id), data.image_ids)
    return Message(message=f"Removed {removed} images from product {product_id}.")
