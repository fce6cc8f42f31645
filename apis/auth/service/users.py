"""User administration: invitations, listing, profile and role changes, deactivation, and the resync that
re-announces every active user. Guard rails: nobody changes their own role or deactivates themselves, nobody
acts on a user whose role holds a permission they lack (nor hands out one), and the last active administrator
stays one (a conditional UPDATE: atomic on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.auth import errors, reads, schemas, tokens
from apis.auth.context import AuthContext
from apis.auth.models import Role, User
from apis.auth.reads import ADMIN, Account
from apis.auth.service import accounts, roles
from contracts import auth as events
from kit.auth.callers import MissingPermission
from kit.db import commit, flush, now
from kit.outbox import record_event
from kit.schemas import Pagination

READ_USER, WRITE_USER = "read:user", "write:user"

_SORT_COLUMNS = {"name": col(User.name), "email": col(User.email), "createdAt": col(User.created_at)}


async def invite(
    session: AsyncSession, auth: AuthContext, caller: Account, data: schemas.UserInvite
) -> schemas.Invitation:
    """A pending, inactive user with a one-day invitation; its token is returned once and stored hashed."""
    if await reads.user_by_email(session, data.email) is not None:
        raise errors.EmailTaken("A user with this email already exists.")
    role = await _assignable_role(session, caller, data.role_id)
    secret, expires = tokens.new_secret(), now() + auth.invitation_ttl
    user = User(
        name=data.name,
        email=data.email,
        is_active=False,
        invitation_token_hash=tokens.digest(secret),
        invitation_expires=expires,
        role_id=role.id,
    )
    session.add(user)
    await flush(session, conflict=lambda: errors.EmailTaken("A user with this email already exists."))
    record_event(session, events.user_changed(events.USER_INVITED, reads.profile(user)))
    await commit(session)
    return schemas.Invitation(user_id=user.id, invitation_token=secret, invitation_expires=expires)


async def list_users(session: AsyncSession, query: schemas.UserQuery) -> schemas.UserPage:
    filters: list[sa.ColumnElement[bool]] = []
    if query.role_id is not None:
        filters.append(col(User.role_id) == query.role_id)
    if query.is_active is not None:
        filters.append(col(User.is_active).is_(query.is_active))
    total = int(await session.scalar(sa.select(sa.func.count()).select_from(User).where(*filters)) or 0)
    column = _SORT_COLUMNS[query.sort_by]
    order = column.asc() if query.sort_order == "asc" else column.desc()
    page = await session.scalars(
        sa.select(User)
        .where(*filters)
        .order_by(order, col(User.id))
        .offset((query.page - 1) * query.limit)
        .limit(query.limit)
    )
    return schemas.UserPage(
        data=await reads.users_detailed(session, page.all()),
        pagination=Pagination.of(total, query.page, query.limit),
    )


async def get_user(session: AsyncSession, caller: Account, user_id: str) -> schemas.UserDetailed:
    """Anyone reads their own record; other records need `read:user`."""
    if caller.id != user_id and not caller.can(READ_USER):
        raise MissingPermission(READ_USER)
    return await reads.user_detailed(session, await _user(session, user_id))


async def update_user(
    session: AsyncSession, caller: Account, user_id: str, data: schemas.UserUpdate
) -> schemas.UserDetailed:
    """Name, picture and language (one's own, or anyone's with `write:user`); the role (another's,
    `write:user`).
    """
    if not (data.name or data.role_id or data.profile_image or data.language):
        raise errors.NothingToUpdate("name, roleId, profileImage, language")
    if caller.id != user_id and not caller.can(WRITE_USER):
        raise MissingPermission(WRITE_USER)
    user = await _user(session, user_id, "User not found.")
    if caller.id != user_id:
        await _ensure_outranks(session, caller, user)
    if data.role_id and data.role_id != user.role_id:
        if caller.id == user_id:
            raise errors.OwnAccount("Forbidden: You cannot change your own role.")
        role = await _assignable_role(session, caller, data.role_id)
        if role.name == ADMIN:
            user.role_id = role.id
        else:
            await _change_keeping_an_administrator(
                session, user, "Forbidden: Cannot change the role of the last administrator.", role_id=role.id
            )
    if data.name:
        user.name = data.name
    if data.profile_image:
        user.profile_image = data.profile_image
    if data.language:
        user.language = data.language
    user.updated_at = now()
    record_event(session, events.user_changed(events.USER_UPDATED, reads.profile(user)))
    await commit(session)
    return await reads.user_detailed(session, user)


async def deactivate_user(session: AsyncSession, caller: Account, user_id: str) -> None:
    """Deactivate (ending the user's sessions); a pending invitee is removed instead. Both announce
    `USER_DELETED`; deactivating an inactive user again changes nothing.
    """
    if caller.id == user_id:
        raise errors.OwnAccount("Forbidden: You cannot deactivate your own account.")
    user = await _user(session, user_id, "User not found.")
    await _ensure_outranks(session, caller, user)
    if user.is_pending_invitee:
        await session.delete(user)
    elif user.is_active:
        await _change_keeping_an_administrator(
            session, user, "Forbidden: Cannot deactivate the last active administrator.", is_active=False
        )
        await accounts.revoke_sessions(session, user.id)
    else:
        return
    record_event(session, events.user_deleted(user.id))
    await commit(session)


async def activate_user(session: AsyncSession, caller: Account, user_id: str) -> schemas.UserDetailed:
    user = await _user(session, user_id, "User to activate not found.")
    await _ensure_outranks(session, caller, user)
    if not user.is_active:
        user.is_active = True
        user.updated_at = now()
        record_event(session, events.user_changed(events.USER_UPDATED, reads.profile(user)))
        await commit(session)
    return await reads.user_detailed(session, user)


async def resync_users(session: AsyncSession) -> schemas.Resync:
    """Announce every active user again (`USER_UPDATED`), for a consumer that lost or never had them."""
    count = 0
    async for user in await session.stream_scalars(sa.select(User).where(col(User.is_active).is_(True))):
        record_event(session, events.user_changed(events.USER_UPDATED, reads.profile(user)))
        count += 1
    await commit(session)
    message = "User re-sync completed successfully." if count else "No users found to re-sync."
    return schemas.Resync(message=message, broadcasted=count)


async def _user(session: AsyncSession, user_id: str, message: str = "User not found") -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise errors.UserNotFound(message)
    return user


async def _assignable_role(session: AsyncSession, caller: Account, role_id: str) -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise errors.UnknownRole()
    granted = (await reads.permissions_of(session, [role.id]))[role.id]
    roles.ensure_grantable(caller, (p.name for p in granted))
    return role


async def _ensure_outranks(session: AsyncSession, caller: Account, user: User) -> None:
    """Acting on a user takes every permission of the user's current role: a user manager cannot demote,
    deactivate or reactivate an administrator.
    """
    held = (await reads.permissions_of(session, [user.role_id]))[user.role_id]
    missing = sorted({p.name for p in held} - caller.permissions)
    if missing:
        raise errors.OutRanked(missing)


async def _change_keeping_an_administrator(
    session: AsyncSession, user: User, message: str, **values: object
) -> None:
    """Write `values` (a deactivation, a demotion) in one UPDATE that holds only while another active
    administrator remains, should the user be one. The condition is evaluated by the write itself: SQLite
    runs one writer at a time, and on PostgreSQL the administrators are locked first, so two administrators
    demoting each other at once leave one.
    """
    admins = sa.select(col(Role.id)).where(col(Role.name) == ADMIN).scalar_subquery()
    active_admins = sa.select(col(User.id)).where(col(User.role_id) == admins, col(User.is_active).is_(True))
    # PostgreSQL: lock every active administrator, in one order, so that concurrent decisions queue up
    await session.execute(active_admins.order_by(col(User.id)).with_for_update())
    other = sa.inspect(User).local_table.alias("other")  # not correlated with the row being updated
    others = sa.select(other.c.id).where(
        other.c.role_id == admins, other.c.is_active.is_(True), other.c.id != user.id
    )
    changed = cast(
        CursorResult[Any],
        await session.execute(
            sa.update(User)
            .where(
                col(User.id) == user.id,
                sa.or_(col(User.role_id) != admins, col(User.is_active).is_(False), others.exists()),
            )
            .values(**values, updated_at=now())
            .execution_options(synchronize_session=False)
        ),
    )
    if changed.rowcount != 1:
        raise errors.LastAdministrator(message)
    await session.refresh(user)
