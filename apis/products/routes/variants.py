"""`/{productId}/variants`: a product's variants (the seed's handlers never answered; these do)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from apis.products import reads
from apis.products.dependencies import DisplayRate, NotifierDep, StaffDep
from apis.products.schemas.products import VariantCreate, VariantRead, VariantUpdate
from apis.products.service import variants
from kit.auth.callers import require_permission
from kit.web import SessionDep

router = APIRouter(prefix="/{product_id}/variants", tags=["variants"])
ProductId = Annotated[uuid.UUID, Path(description="the product's id")]
VariantId = Annotated[uuid.UUID, Path(description="the variant's id")]
may_update = [require_permission("update:product")]


@router.get("", summary="A product's variants, prices as `X-Currency` asks (`basePrice` kept)")
async def list_variants(
    session: SessionDep, product_id: ProductId, staff: StaffDep, rate: DisplayRate
) -> list[VariantRead]:
    found = await variants.list_variants(session, str(product_id))
    return [reads.variant_read(v, staff=staff, rate=rate) for v in found]


@router.get("/{variant_id}", summary="One variant of a product, prices as `X-Currency` asks")
async def get_variant(
    session: SessionDep, product_id: ProductId, variant_id: VariantId, staff: StaffDep, rate: DisplayRate
) -> VariantRead:
    variant = await variants.get_variant(session, str(product_id), str(variant_id))
    return reads.variant_read(variant, staff=staff, rate=rate)


@router.post(
    "",
    status_code=201,
    summary="Add a variant (its initial stock enters the ledger)",
    dependencies=may_update,
)
async def create_variant(
    session: SessionDep, notify: NotifierDep, product_id: ProductId, data: VariantCreate
) -> VariantRead:
    variant = await variants.create_variant(session, notify, str(product_id), data)
    return reads.variant_read(variant, staff=True)


@router.put(
    "/{variant_id}", summary="Change a variant (not its stock: see /stock/adjust)", dependencies=may_update
)
async def update_variant(
    session: SessionDep,
    notify: NotifierDep,
    product_id: ProductId,
    variant_id: VariantId,
    data: VariantUpdate,
) -> VariantRead:
    variant = await variants.update_variant(session, notify, str(product_id), str(variant_id), data)
    return reads.variant_read(variant, staff=True)


@router.delete(
    "/{variant_id}",
    status_code=204,
    summary="Delete a variant and its stock history",
    dependencies=may_update,
)
async def delete_variant(
    session: SessionDep, notify: NotifierDep, product_id: ProductId, variant_id: VariantId
) -> Response:
    await variants.delete_variant(session, notify, str(product_id), str(variant_id))
    return Response(status_code=204)
