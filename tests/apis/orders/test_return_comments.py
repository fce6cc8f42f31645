"""Comments on returns, on SQLite and PostgreSQL: who may comment (the customer, the guest by token, staff
holding write:returns; anyone else is told the return does not exist), how a comment moves the status
(conditionally), that an Idempotency-Key makes a retried comment one, and that the return's and the order's
answers show the comments oldest first.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import col

from apis.orders import reads, return_comments, returns
from apis.orders.errors import InvalidReturnTransition, ReturnNotFound
from apis.orders.models import ReturnComment
from apis.orders.schemas import ReturnCommentCreate
from contracts.orders import ReturnStatus
from kit.auth.principal import Principal
from kit.outbox import OutboxMessage
from tests.apis.orders.test_returns import (
    CUSTOMER,
    OTHER,
    STAFF,
    Sessions,
    an_order,
    ask,
    asking,
    move,
    queued,
    sessions,
)

__all__ = ["sessions"]  # the fixture, shared with the returns' tests
READER = Principal("u-rita", "rita@example.com", "Rita", "Auditor", frozenset({"read:returns"}))


def saying(text: str | None = None, image: str | None = None) -> ReturnCommentCreate:
    return ReturnCommentCreate.model_validate({"commentText": text, "imageUrl": image})


async def comment(
    sessions: Sessions,
    return_id: str,
    data: ReturnCommentCreate,
    caller: Principal | None = CUSTOMER,
    token: str | None = None,
    key: str | None = None,
) -> tuple[ReturnComment, bool]:
    async with sessions() as session:
        return await return_comments.add_comment(session, return_id, caller, token, data, key)


async def status_of(sessions: Sessions, return_id: str) -> ReturnStatus:
    async with sessions() as session:
        [read] = await returns.present(session, [await returns.get_return(session, return_id, STAFF, None)])
    return read.status


async def a_return(sessions: Sessions, token: str | None = None) -> str:
    order_id, (shoe, _) = await an_order(sessions, guest_token=token)
    request, _ = await ask(
        sessions, asking(order_id, (shoe, 1)), caller=None if token else CUSTOMER, token=token
    )
    return request.id


async def test_a_staff_question_waits_for_the_customer_and_their_answer_gives_it_back(
    sessions: Sessions,
) -> None:
    return_id = await a_return(sessions)
    asked, created = await comment(sessions, return_id, saying("Is the box damaged?"), STAFF)
    assert created
    assert (asked.role, asked.author_name, asked.author_id) == ("staff", "Sam", STAFF.id)
    assert await status_of(sessions, return_id) == ReturnStatus.AWAITING_CUSTOMER_RESPONSE
    await comment(sessions, return_id, saying("Yes, here it is", "/images/abc.jpg"))
    assert await status_of(sessions, return_id) == ReturnStatus.PENDING_APPROVAL
    expected = ["RETURN_REQUEST_CREATED", "RETURN_REQUEST_COMMENT_ADDED", "RETURN_REQUEST_COMMENT_ADDED"]
    assert await queued(sessions, return_id) == expected
    async with sessions() as session:
        events = await session.scalars(
            sa.select(OutboxMessage)
            .where(col(OutboxMessage.key) == return_id)
            .order_by(col(OutboxMessage.seq))
        )
        payloads = [m.body["event"]["payload"] for m in events][1:]
    assert [(p["status"], p["comment"]["role"]) for p in payloads] == [
        ("AWAITING_CUSTOMER_RESPONSE", "staff"),
        ("PENDING_APPROVAL", "customer"),
    ]
    assert [c["commentText"] for c in payloads[1]["comments"]] == ["Is the box damaged?", "Yes, here it is"]


async def test_staff_decide_from_either_waiting_status_and_a_comment_never_undoes_a_decision(
    sessions: Sessions,
) -> None:
    return_id = await a_return(sessions)
    await comment(sessions, return_id, saying("Photo please?"), STAFF)
    approved = await move(sessions, return_id, ReturnStatus.APPROVED)
    assert approved.status == ReturnStatus.APPROVED
    await comment(sessions, return_id, saying("Thanks"))  # a reply to an approved return moves nothing
    await comment(sessions, return_id, saying("Ship it to the depot"), STAFF)
    assert await status_of(sessions, return_id) == ReturnStatus.APPROVED
    rejected_id = await a_return(sessions)
    await comment(sessions, rejected_id, saying("Which size?"), STAFF)
    assert (await move(sessions, rejected_id, ReturnStatus.REJECTED)).status == ReturnStatus.REJECTED
    with pytest.raises(InvalidReturnTransition):  # the waiting statuses move by comments only
        await move(sessions, await a_return(sessions), ReturnStatus.AWAITING_CUSTOMER_RESPONSE)


async def test_a_comment_racing_a_decision_leaves_the_decision(sessions: Sessions) -> None:
    return_id = await a_return(sessions)
    await asyncio.gather(
        comment(sessions, return_id, saying("One question"), STAFF),
        move(sessions, return_id, ReturnStatus.APPROVED),
        return_exceptions=True,
    )
    # either the question came first (then the approval from AWAITING) or the approval did: approved
    assert await status_of(sessions, return_id) == ReturnStatus.APPROVED


async def test_only_the_customer_the_guest_and_staff_who_write_returns_comment(sessions: Sessions) -> None:
    return_id = await a_return(sessions)
    for caller in (OTHER, READER, None):
        with pytest.raises(ReturnNotFound):
            await comment(sessions, return_id, saying("Hi"), caller)
    with pytest.raises(ReturnNotFound):
        await comment(sessions, "no-such-return", saying("Hi"), STAFF)
    guests = await a_return(sessions, token="t0ken")
    with pytest.raises(ReturnNotFound):
        await comment(sessions, guests, saying("Hi"), None, token="wrong")
    said, _ = await comment(sessions, guests, saying("Hi"), None, token="t0ken")
    assert (said.author_name, said.author_id, said.role) == ("Guest", None, "customer")


@pytest.mark.parametrize(
    ("text", "image"),
    [(None, None), ("   ", None), (None, "javascript:alert(1)"), ("x" * 2001, None)],
    ids=["nothing", "blank", "not an image url", "too long"],
)
def test_a_comment_needs_a_text_or_an_image(text: str | None, image: str | None) -> None:
    with pytest.raises(ValidationError, match=r"commentText|imageUrl|comment_text|image_url"):
        saying(text, image)


async def test_an_idempotency_key_posts_a_retried_comment_once(sessions: Sessions) -> None:
    return_id = await a_return(sessions)
    outcomes = await asyncio.gather(
        *(comment(sessions, return_id, saying("Once"), key="c-1") for _ in range(3)), return_exceptions=True
    )
    ids = {o[0].id for o in outcomes if isinstance(o, tuple)}
    assert len(ids) == 1, outcomes
    assert sorted(o[1] for o in outcomes if isinstance(o, tuple)) in (
        [False, False, True],
        [False, True],
        [True],
    )
    again, created = await comment(sessions, return_id, saying("Once"), key="c-1")
    assert (again.id, created) == (ids.pop(), False)
    _, created = await comment(sessions, await a_return(sessions), saying("Once"), key="c-1")
    assert created  # the same key on another return is another comment
    assert (await queued(sessions, return_id)).count("RETURN_REQUEST_COMMENT_ADDED") == 1


async def test_the_order_shows_its_returns_with_their_lines_and_comments_oldest_first(
    sessions: Sessions,
) -> None:
    order_id, (shoe, hat) = await an_order(sessions)
    first, _ = await ask(sessions, asking(order_id, (shoe, 1)))
    second, _ = await ask(sessions, asking(order_id, (hat, 1)))
    await comment(sessions, first.id, saying("Why?"), STAFF)
    await comment(sessions, first.id, saying("Too small"))
    bare, _ = await an_order(sessions)
    async with sessions() as session:
        order = await reads.get_order(session, order_id, CUSTOMER)
        other = await reads.get_order(session, bare, CUSTOMER)
        shown, nothing = await reads.present(session, [order, other])
    assert [r.id for r in shown.return_requests] == [first.id, second.id]
    assert [c.comment_text for c in shown.return_requests[0].comments] == ["Why?", "Too small"]
    assert [i.order_item_id for i in shown.return_requests[1].items] == [hat]
    assert nothing.return_requests == []
