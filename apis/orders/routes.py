"""The orders API under `/orders` (the gateway strips the prefix): thin handlers over `placing`, `reads`
and `service`."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import JSONResponse

from apis.orders import placing, reads, service
from apis.orders.dependencies import Language, StateDep
from apis.orders.reads import present, present_one
from apis.orders.schemas import (
    GuestLookup,
    OrderAccepted,
    OrderCreate,
    OrderPage,
    OrderRead,
    OrderTimeline,
    SortField,
    StatusChange,
)
from contracts import scopes
from contracts.currencies import CURRENCY_HEADER, requested
from contracts.orders import (
    FINAL,
    STATUS_REPORT_PATH,
    VERIFIED_PURCHASE_PATH,
    OrderStatus,
    PaymentMethod,
    SagaReport,
)
from kit.auth.callers import OptionalUser, require_permission, require_scope
from kit.auth.principal import Principal
from kit.outbox import start_recorded
from kit.schemas import Limit, Page
from kit.web import InfraDep, SessionDep, created_or_again

log = logging.getLogger(__name__)
DisplayCurrency = Annotated[
    str | None,
    Header(
        alias=CURRENCY_HEADER,
        description="`EUR`: the order records EUR, today's rate and its amounts in EUR (the base amounts "
        "kept and charged); a currency without a rate is a 400 `UnknownCurrency`. An order is always shown "
        "in the currency it was placed in, at its recorded rate.",
    ),
]
router = APIRouter(tags=["orders"])

OrderId = Annotated[str, Path(alias="orderId", min_length=1, max_length=36)]
GuestToken = Annotated[str | None, Query(alias="guest_token", max_length=128)]


IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[A-Za-z0-9._:\-]+$")
]


@router.post(
    "/",
    status_code=201,
    response_model=OrderRead,
    responses={
        200: {"model": OrderRead, "description": "The order this Idempotency-Key placed before"},
        202: {"model": OrderAccepted},
        402: {},
        409: {},
    },
    summary="Place an order (201 placed, 202 still in progress, 409 out of stock, 402 card declined)",
)
async def place_order(
    data: OrderCreate,
    state: StateDep,
    lang: Language,
    session: SessionDep,
    infra: InfraDep,
    caller: OptionalUser,
    idempotency_key: IdempotencyKey = None,
    currency: DisplayCurrency = None,
) -> Any:
    assert infra.sessions is not None
    order, start, guest_token = await placing.place_order(
        infra.sessions,
        state.catalog,
        state.carts,
        caller,
        data,
        idempotency_key,
        currencies=state.currencies,
        currency=requested(currency),
        language=lang,
    )
    if start is not None:
        try:  # the fast path; the outbox starts it anyway, a moment later, if this fails
            await start_recorded(await infra.temporal(), infra.sessions, start)
        except Exception as exc:
            log.warning("saga start deferred to the outbox", extra={"orderId": order.id, "error": repr(exc)})
    order = await placing.settled(
        infra.sessions, state.settlements, order.id, infra.settings.order_answer_seconds
    )
    placing.raise_if_failed(order)
    if order.status == OrderStatus.PENDING:
        return _accepted(OrderAccepted(id=order.id, status=order.status))
    read = await present_one(session, order, lang)
    read.guest_token = guest_token
    return created_or_again(read, start is not None)


@router.get("/my-orders", response_model=OrderPage, summary="The caller's orders")
async def my_orders(
    lang: Language,
    session: SessionDep,
    user: Annotated[Principal, require_permission("read:my-orders")],
    page: Page = 1,
    limit: Limit = 10,
) -> OrderPage:
    orders, pagination = await reads.list_orders(session, page=page, limit=limit, user_id=user.id)
    return OrderPage(
        data=await present(session, orders, lang),
        pagination=pagination,
    )


@router.get("/", response_model=OrderPage, summary="All orders (staff)")
async def list_orders(
    lang: Language,
    session: SessionDep,
    _: Annotated[Principal, require_permission("read:order")],
    page: Page = 1,
    limit: Limit = 10,
    status: OrderStatus | None = None,
    payment_method: Annotated[PaymentMethod | None, Query(alias="paymentMethod")] = None,
    search: Annotated[str | None, Query(max_length=100)] = None,
    sort_by: Annotated[SortField, Query(alias="sortBy")] = "createdAt",
    sort_order: Annotated[str, Query(alias="sortOrder", pattern="^(asc|desc)$")] = "desc",
) -> OrderPage:
    orders, pagination = await reads.list_orders(
        session,
        page=page,
        limit=limit,
        status_is=status,
        payment_method=payment_method,
        search=search,
        sort_by=sort_by,
        descending=sort_order == "desc",
    )
    return OrderPage(
        data=await present(session, orders, lang),
        pagination=pagination,
    )


@router.post("/guest-lookup", response_model=OrderRead, summary="A guest reads an order by email or token")
async def guest_lookup(data: GuestLookup, lang: Language, session: SessionDep) -> OrderRead:
    order = await reads.guest_lookup(session, data.order_id, data.email, data.token)
    return await present_one(session, order, lang)


@router.get("/{orderId}", response_model=OrderRead, summary="One order (its customer, its guest, staff)")
async def get_order(
    order_id: OrderId,
    lang: Language,
    session: SessionDep,
    caller: OptionalUser,
    guest_token: GuestToken = None,
) -> OrderRead:
    order = await reads.get_order(session, order_id, caller, guest_token)
    return await present_one(session, order, lang)


@router.get(
    "/{orderId}/timeline",
    response_model=OrderTimeline,
    summary="The order's story: each saga step, retry, compensation and signal, and each status change",
)
async def order_timeline(
    order_id: OrderId,
    session: SessionDep,
    infra: InfraDep,
    caller: OptionalUser,
    guest_token: GuestToken = None,
) -> OrderTimeline:
    order = await reads.get_order(session, order_id, caller, guest_token)
    return await reads.order_timeline(session, infra.temporal, order)


@router.post(
    "/{orderId}/cancel",
    response_model=OrderRead,
    responses={202: {"model": OrderAccepted}},
    summary="Cancel: stock and payment are given back",
)
async def cancel_order(
    order_id: OrderId,
    state: StateDep,
    lang: Language,
    session: SessionDep,
    infra: InfraDep,
    caller: OptionalUser,
    guest_token: GuestToken = None,
) -> Any:
    await service.request_cancel(session, order_id, caller, guest_token)
    assert infra.sessions is not None
    order = await placing.settled(
        infra.sessions,
        state.settlements,
        order_id,
        infra.settings.order_answer_seconds,
        lambda o: o.status in FINAL,
    )
    if order.status not in FINAL:
        return _accepted(OrderAccepted(id=order.id, status=order.status, message="Cancellation in progress."))
    return await present_one(session, order, lang)


@router.put("/{orderId}/status", response_model=OrderRead, summary="Staff move an order along fulfilment")
async def set_status(
    order_id: OrderId,
    data: StatusChange,
    lang: Language,
    session: SessionDep,
    _: Annotated[Principal, require_permission("update:order")],
) -> OrderRead:
    order = await service.staff_set_status(session, order_id, data.status)
    return await present_one(session, order, lang)


@router.post(STATUS_REPORT_PATH, status_code=204, include_in_schema=False)
async def saga_transition(
    order_id: OrderId,
    data: SagaReport,
    session: SessionDep,
    state: StateDep,
    _caller: Annotated[Principal, require_scope(scopes.REPORT_ORDER_STATUS)],
) -> Response:
    """The saga reports a status (idempotent: the status the order has already is accepted as done)."""
    await service.saga_report(session, order_id, data)
    state.settlements.changed(order_id)  # committed: a request waiting here for the order answers now
    return Response(status_code=204)


@router.get(VERIFIED_PURCHASE_PATH, include_in_schema=False)
async def verified_purchase(
    session: SessionDep,
    _caller: Annotated[Principal, require_scope(scopes.VERIFY_PURCHASE)],
    user_id: Annotated[str, Query(alias="userId", min_length=1, max_length=100)],
    product_id: Annotated[str, Query(alias="productId", min_length=1, max_length=100)],
) -> dict[str, bool]:
    """The reviews service asks whether a reviewer received the product (a delivered order holding it)."""
    return {"verified": await reads.delivered_to(session, user_id, product_id)}


def _accepted(accepted: OrderAccepted) -> JSONResponse:
    """202: the saga is still at work; the order is at `Location`."""
    return JSONResponse(
        accepted.model_dump(mode="json", by_alias=True),
        status_code=202,
        headers={"Location": f"/orders/{accepted.id}"},
    )
