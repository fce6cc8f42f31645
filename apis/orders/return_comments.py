"""Comments on a return: its customer (or guest, by token) and staff holding `write:returns` talk about it.
A staff comment on a pending return waits for the customer's answer (`AWAITING_CUSTOMER_RESPONSE`), the
customer's reply gives it back to staff (`contracts.orders.COMMENT_MOVES`), each move an update conditional
on the status it leaves, so a staff decision racing a comment is never undone. Each comment publishes
`RETURN_REQUEST_COMMENT_ADDED` in its transaction; an `Idempotency-Key` makes a retried comment one comment.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.orders import returns, rules
from apis.orders.errors import ReturnNotFound
from apis.orders.models import Order, ReturnComment, ReturnRequest
from apis.orders.schemas import ReturnCommentCreate, ReturnCommentRead
from contracts.orders import COMMENT_MOVES, RETURN_REQUEST_COMMENT_ADDED, WRITE_RETURNS, CommentRole
from kit.auth.principal import Principal
from kit.db import now


async def add_comment(
    session: AsyncSession,
    return_id: str,
    caller: Principal | None,
    token: str | None,
    data: ReturnCommentCreate,
    idempotency_key: str | None,
) -> tuple[ReturnComment, bool]:
    """The comment this request posts, and whether it is new (False: the one its Idempotency-Key posted).
    Not found and not the caller's are the same 404. Commits.
    """
    request = await session.get(ReturnRequest, return_id)
    order = None if request is None else await session.get(Order, request.order_id)
    if request is None or order is None:
        raise ReturnNotFound(return_id)
    role = _role(order, caller, token)
    if role is None:
        raise ReturnNotFound(return_id)
    key = _key(caller, return_id, idempotency_key)
    if key and (earlier := await returns.with_key(session, ReturnComment, key)):
        return earlier, False
    await session.rollback()  # the conditional move is the transaction's first statement (SQLite: one writer)
    await _move(session, return_id, role)
    comment = ReturnComment(
        return_request_id=return_id,
        author_id=caller.id if caller is not None else None,
        author_name=(caller.name if caller is not None else "") or "Guest",
        role=role,
        comment_text=data.comment_text or None,
        image_url=data.image_url,
        idempotency_key=key,
    )
    session.add(comment)
    await session.flush()
    request = await session.get(ReturnRequest, return_id, populate_existing=True)
    assert request is not None
    said = ReturnCommentRead.model_validate(comment).model_dump(mode="json", by_alias=True)
    await returns.publish(session, request, RETURN_REQUEST_COMMENT_ADDED, comment=said)
    return await returns.commit_or_first(session, comment, key)


def _role(order: Order, caller: Principal | None, token: str | None) -> CommentRole | None:
    """The order's own customer (or guest) comments as the customer, even when staff; other staff as staff."""
    if rules.may_return(order, caller, token):
        return CommentRole.CUSTOMER
    if caller is not None and caller.can(WRITE_RETURNS):
        return CommentRole.STAFF
    return None


async def _move(session: AsyncSession, return_id: str, role: CommentRole) -> None:
    """The status move this author's comment makes, if the return is where the move starts: conditional on
    that status, so a return staff approved meanwhile stays approved.
    """
    for (author, leaving), entering in COMMENT_MOVES.items():
        if author != role:
            continue
        moved = await session.execute(
            sa.update(ReturnRequest)
            .where(col(ReturnRequest.id) == return_id, col(ReturnRequest.status) == leaving)
            .values(status=entering, updated_at=now())
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) == 1:
            return


def _key(caller: Principal | None, return_id: str, header: str | None) -> str | None:
    """The stored key: the caller's header, scoped to the caller and the return (hashed, so bounded)."""
    if not header:
        return None
    scope = caller.id if caller is not None else "guest"
    return hashlib.sha256(f"{scope}|{return_id}|{header}".encode()).hexdigest()
