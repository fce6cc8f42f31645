"""`/promotions`: the storefront's banners (anyone sees those on show; `read:promotion` and `write:promotion`
for staff)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from apis.products.models import Promotion
from apis.products.schemas.products import Message
from apis.products.schemas.promotions import (
    PromotionCreate,
    PromotionRead,
    PromotionUpdate,
    PromotionView,
    Reorder,
)
from apis.products.service import promotions
from kit.auth.callers import require_permission
from kit.localisation import LanguageDep, localise
from kit.web import SessionDep

router = APIRouter(prefix="/promotions", tags=["promotions"])
PromotionId = Annotated[uuid.UUID, Path(description="the promotion's id")]


def view(promotion: Promotion, language: str) -> PromotionView:
    shown = PromotionRead.model_validate(promotion).model_dump(exclude=set(promotions.TEXTS))
    texts = {name: localise(getattr(promotion, name), language) for name in promotions.TEXTS}
    return PromotionView.model_validate(shown | texts)


@router.get(
    "", summary="The promotions on show (active, not expired) in display order, in the caller's language"
)
async def list_live(session: SessionDep, language: LanguageDep) -> list[PromotionView]:
    return [view(p, language) for p in await promotions.live(session)]


@router.put(
    "/reorder",
    summary="Show promotions in this order (each listed one's displayOrder becomes its index, at once)",
    dependencies=[require_permission("write:promotion")],
)
async def reorder(session: SessionDep, data: Reorder) -> Message:
    await promotions.reorder(session, [str(i) for i in data.ordered_ids])
    return Message(message="Promotions reordered successfully.")


@router.get(
    "/all",
    summary="Every promotion, inactive and expired ones too, with its multilingual texts",
    dependencies=[require_permission("read:promotion")],
)
async def list_all(session: SessionDep) -> list[PromotionRead]:
    return [PromotionRead.model_validate(p) for p in await promotions.every(session)]


@router.post(
    "",
    status_code=201,
    summary="Create a promotion",
    dependencies=[require_permission("write:promotion")],
)
async def create(session: SessionDep, data: PromotionCreate) -> PromotionRead:
    return PromotionRead.model_validate(await promotions.create(session, data))


@router.get(
    "/{promotion_id}",
    summary="One promotion with its multilingual texts",
    dependencies=[require_permission("read:promotion")],
)
async def get(session: SessionDep, promotion_id: PromotionId) -> PromotionRead:
    return PromotionRead.model_validate(await promotions.get(session, str(promotion_id)))


@router.put(
    "/{promotion_id}",
    summary="Change a promotion (the fields given)",
    dependencies=[require_permission("write:promotion")],
)
async def update(session: SessionDep, promotion_id: PromotionId, data: PromotionUpdate) -> PromotionRead:
    return PromotionRead.model_validate(await promotions.update(session, str(promotion_id), data))


@router.delete(
    "/{promotion_id}",
    status_code=204,
    summary="Delete a promotion",
    dependencies=[require_permission("write:promotion")],
)
async def delete(session: SessionDep, promotion_id: PromotionId) -> Response:
    await promotions.delete(session, str(promotion_id))
    return Response(status_code=204)
