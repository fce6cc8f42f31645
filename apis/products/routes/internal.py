"""`/internal`: for other services only (service credentials); the gateway never forwards these paths."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from apis.products import reads
from apis.products.schemas.products import ImageUsesRequest
from apis.products.schemas.stock import (
    ProductDocumentsRequest,
    ProductStamp,
    VariantDetails,
    VariantDetailsRequest,
)
from apis.products.service import images
from contracts import scopes
from contracts.products import (
    IMAGE_USES_PATH,
    MAX_PRODUCT_STAMPS,
    PRODUCT_DOCUMENTS_PATH,
    PRODUCT_STAMPS_PATH,
    VARIANT_DETAILS_PATH,
)
from kit.auth.callers import require_scope
from kit.auth.principal import Principal
from kit.web import SessionDep

router = APIRouter(tags=["internal"])


@router.post(VARIANT_DETAILS_PATH, summary="Prices and labels of variants, by id (unknown ids are absent)")
async def variant_details(
    session: SessionDep,
    data: VariantDetailsRequest,
    _caller: Annotated[Principal, require_scope(scopes.READ_VARIANTS)],
) -> dict[str, VariantDetails]:
    return await reads.variant_details(session, data.variant_ids)


@router.post(PRODUCT_DOCUMENTS_PATH, summary="Event documents of products, by id (deleted ones are absent)")
async def product_documents(
    session: SessionDep,
    data: ProductDocumentsRequest,
    _caller: Annotated[Principal, require_scope(scopes.READ_CATALOG)],
) -> dict[str, dict[str, Any]]:
    return await reads.product_documents(session, data.product_ids)


@router.get(
    PRODUCT_STAMPS_PATH, summary="A page of the catalog (id, updatedAt, isActive) in id order, after `after`"
)
async def product_stamps(
    session: SessionDep,
    _caller: Annotated[Principal, require_scope(scopes.READ_CATALOG)],
    after: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PRODUCT_STAMPS)] = MAX_PRODUCT_STAMPS,
) -> list[ProductStamp]:
    return await reads.product_stamps(session, after=after, limit=limit)


@router.post(IMAGE_USES_PATH, summary="The live products showing each of our images, by name (unused absent)")
async def image_uses(
    session: SessionDep,
    data: ImageUsesRequest,
    _caller: Annotated[Principal, require_scope(scopes.READ_IMAGE_USES)],
) -> dict[str, list[str]]:
    return await images.uses(session, data.names)
