"""Returns under `/orders` (the seed's paths): thin handlers over `returns`. Mounted before the orders'
routes, so that `/my-returns` and `/returns/...` are never taken for an order id (the seed's shadowing).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from apis.orders import return_comments, returns
from apis.orders.dependencies import Language
from apis.orders.routes import GuestToken, IdempotencyKey
from apis.orders.schemas import (
    ReturnCommentCreate,
    ReturnCommentRead,
    ReturnCreate,
    ReturnPage,
    ReturnRead,
    ReturnUpdate,
)
from contracts import scopes
from contracts.orders import READ_RETURNS, RETURN_SETTLED_PATH, WRITE_RETURNS, ReturnSettled, ReturnStatus
from kit.auth.callers import OptionalUser, require_permission, require_scope
from kit.auth.principal import Principal
from kit.schemas import Limit, Page
from kit.web import SessionDep, created_or_again

router = APIRouter(tags=["returns"])
ReturnId = Annotated[str, Path(alias="returnId", min_length=1, max_length=36)]


@router.post(
    "/returns",
    status_code=201,
    response_model=ReturnRead,
    responses={
        200: {"model": ReturnRead, "description": "The return this Idempotency-Key asked for before"},
        404: {"description": "No such order, or not the caller's"},
        409: {"description": "The order is not DELIVERED"},
    },
    summary="Ask to return units of a delivered order (its customer, or its guest with guest_token)",
)
async def request_return(
    data: ReturnCreate,
    lang: Language,
    session: SessionDep,
    caller: OptionalUser,
    guest_token: GuestToken = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    request, created = await returns.request_return(session, caller, guest_token, data, idempotency_key)
    [read] = await returns.present(session, [request], lang)
    return created_or_again(read, created)


@router.get("/my-returns", response_model=ReturnPage, summary="The caller's returns, newest first")
async def my_returns(
    lang: Language,
    session: SessionDep,
    user: Annotated[Principal, require_permission("read:my-orders")],
    page: Page = 1,
    limit: Limit = 10,
) -> ReturnPage:
    found, pagination = await returns.list_returns(session, page=page, limit=limit, user_id=user.id)
    return ReturnPage(data=await returns.present(session, found, lang), pagination=pagination)


@router.get(
    "/returns/{returnId}", response_model=ReturnRead, summary="One return (its customer, its guest, staff)"
)
async def get_return(
    return_id: ReturnId,
    lang: Language,
    session: SessionDep,
    caller: OptionalUser,
    guest_token: GuestToken = None,
) -> ReturnRead:
    request = await returns.get_return(session, return_id, caller, guest_token)
    [read] = await returns.present(session, [request], lang)
    return read


@router.post(
    "/returns/{returnId}/comments",
    status_code=201,
    response_model=ReturnCommentRead,
    responses={
        200: {"model": ReturnCommentRead, "description": "The comment this Idempotency-Key posted before"},
        400: {"description": "Neither commentText nor imageUrl"},
        404: {"description": "No such return, or not the caller's"},
    },
    summary="Comment on a return (its customer, its guest with guest_token, staff holding write:returns)",
)
async def comment_return(
    return_id: ReturnId,
    data: ReturnCommentCreate,
    session: SessionDep,
    caller: OptionalUser,
    guest_token: GuestToken = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    comment, created = await return_comments.add_comment(
        session, return_id, caller, guest_token, data, idempotency_key
    )
    return created_or_again(ReturnCommentRead.model_validate(comment), created)


@router.get("/admin/returns", response_model=ReturnPage, summary="All returns, newest first (staff)")
async def list_returns(
    lang: Language,
    session: SessionDep,
    _: Annotated[Principal, require_permission(READ_RETURNS)],
    page: Page = 1,
    limit: Limit = 10,
    status: ReturnStatus | None = None,
    search: Annotated[
        str | None, Query(max_length=100, description="part of the return's or order's id")
    ] = None,
) -> ReturnPage:
    found, pagination = await returns.list_returns(
        session, page=page, limit=limit, status_is=status, search=search
    )
    return ReturnPage(data=await returns.present(session, found, lang), pagination=pagination)


@router.put(
    "/admin/returns/{returnId}",
    response_model=ReturnRead,
    responses={409: {"description": "Not a change this return can make (InvalidReturnTransition)"}},
    summary="Staff approve, reject or complete a return (COMPLETED restocks and refunds, once)",
)
async def update_return(
    return_id: ReturnId,
    data: ReturnUpdate,
    lang: Language,
    session: SessionDep,
    _: Annotated[Principal, require_permission(WRITE_RETURNS)],
) -> ReturnRead:
    request = await returns.staff_update(session, return_id, data)
    [read] = await returns.present(session, [request], lang)
    return read


@router.post(RETURN_SETTLED_PATH, status_code=204, include_in_schema=False)
async def return_settled(
    return_id: ReturnId,
    data: ReturnSettled,
    session: SessionDep,
    _caller: Annotated[Principal, require_scope(scopes.REPORT_ORDER_STATUS)],
) -> Response:
    """The return's workflow restocked and refunded it (a repeat is accepted as done)."""
    await returns.settle(session, return_id, data)
    return Response(status_code=204)
