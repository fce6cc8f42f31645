"""The reviews API under `/reviews` (the gateway strips the prefix), the seed's routes: reads are public,
writing takes `write:review`, one's own list `read:review`; changing a review is its author's, deleting it
its author's or a moderator's (`moderate:review`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from apis.reviews import reads, service
from apis.reviews.schemas import ReviewCreate, ReviewPage, ReviewRead, ReviewUpdate
from contracts.reviews import MAX_RATING, READ_REVIEW, WRITE_REVIEW
from kit.auth.callers import CurrentUser, require_permission
from kit.auth.principal import Principal
from kit.localisation import LanguageDep
from kit.schemas import Limit, Page
from kit.web import InfraDep, SessionDep, service_state


async def _peers(request: Request) -> service.Peers:
    return service_state(request, service.Peers)


router = APIRouter(tags=["reviews"])
ReviewId = Annotated[str, Path(alias="reviewId", min_length=1, max_length=36)]
Id = Annotated[str | None, Query(min_length=1, max_length=100)]
Writer = Annotated[Principal, require_permission(WRITE_REVIEW)]


@router.get("/product/{productId}", summary="A product's reviews, newest first")
async def product_reviews(
    product_id: Annotated[str, Path(alias="productId", min_length=1, max_length=100)],
    session: SessionDep,
    language: LanguageDep,
    page: Page = 1,
    limit: Limit = 10,
) -> ReviewPage:
    return await reads.page_of(session, page, limit, language, product_id=product_id)


@router.get("/", summary="Reviews by reviewer, product or rating, newest first")
async def list_reviews(
    session: SessionDep,
    language: LanguageDep,
    user_id: Annotated[Id, Query(alias="userId")] = None,
    product_id: Annotated[Id, Query(alias="productId")] = None,
    rating: Annotated[int | None, Query(ge=1, le=MAX_RATING)] = None,
    page: Page = 1,
    limit: Limit = 10,
) -> ReviewPage:
    filters = {"user_id": user_id, "product_id": product_id, "rating": rating}
    return await reads.page_of(session, page, limit, language, **filters)


@router.post(
    "/",
    status_code=201,
    responses={404: {}, 409: {}, 503: {}},
    summary="Review a product, once (409 ReviewExists); 503 when orders cannot verify the purchase",
)
async def create_review(
    data: ReviewCreate,
    infra: InfraDep,
    language: LanguageDep,
    author: Writer,
    peers: Annotated[service.Peers, Depends(_peers)],
) -> ReviewRead:
    assert infra.sessions is not None
    return await service.create_review(infra.sessions, peers, author, data, language)


@router.get("/my-reviews", summary="The caller's reviews, newest first")
async def my_reviews(
    session: SessionDep,
    language: LanguageDep,
    user: Annotated[Principal, require_permission(READ_REVIEW)],
    page: Page = 1,
    limit: Limit = 10,
) -> ReviewPage:
    return await reads.page_of(session, page, limit, language, user_id=user.id)


@router.put("/{reviewId}", responses={403: {}, 404: {}}, summary="Change one's own review")
async def update_review(
    review_id: ReviewId, data: ReviewUpdate, session: SessionDep, language: LanguageDep, author: Writer
) -> ReviewRead:
    return await service.update_review(session, author, review_id, data, language)


@router.delete(
    "/{reviewId}",
    status_code=204,
    responses={403: {}, 404: {}},
    summary="Delete one's own review (`delete:review`) or, as a moderator (`moderate:review`), anyone's",
)
async def delete_review(review_id: ReviewId, session: SessionDep, caller: CurrentUser) -> Response:
    await service.delete_review(session, caller, review_id)
    return Response(status_code=204)
