"""Accounts and sessions: registration, login, refresh-token rotation, logout, invitations, token checks and
service credentials. Plain async functions over the session and the ports; each commits what it keeps.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.auth import errors, reads, schemas, tokens
from apis.auth.context import AuthContext
from apis.auth.models import RefreshToken, User
from apis.auth.reads import Account
from apis.auth.throttle import LoginThrottle
from contracts import auth as events
from contracts.scopes import SERVICE_SCOPES
from kit.auth.services import SERVICE_ROLE, SERVICE_SUBJECT_PREFIX
from kit.auth.tokens import SERVICE_AUDIENCE, USER_AUDIENCE, TokenVerifier
from kit.cache import Cache
from kit.db import commit, flush, new_id, now
from kit.errors import AppError, Unauthorized
from kit.localisation import DEFAULT_LANGUAGE
from kit.outbox import record_event, record_workflow
from workflows import register_user

log = logging.getLogger(__name__)


async def register(
    session: AsyncSession, auth: AuthContext, data: schemas.UserRegister, *, language: str = DEFAULT_LANGUAGE
) -> schemas.TokenPair:
    """Create a Customer and, in the same transaction, the start of its registration workflow. Their
    language is the body's, else `language` (the request's Accept-Language).
    """
    if await reads.user_by_email(session, data.email) is not None:
        raise errors.EmailTaken()
    role = await reads.role_named(session, schemas.CUSTOMER)
    if role is None:
        raise AppError("the Customer role is missing: the seed did not run", code="SeedMissing")
    user = User(
        name=data.name,
        email=data.email,
        password_hash=await auth.passwords.hash(data.password),
        profile_image=data.profile_image or None,
        language=data.language or language,
        role_id=role.id,
    )
    session.add(user)
    await flush(session, conflict=errors.EmailTaken)
    details = register_user.RegisterUserInput.model_validate(
        {
            "user_id": user.id,
            "name": user.name,
            "email": user.email,
            "profile_image": user.profile_image,
            "language": user.language,
        }
    )
    record_workflow(session, register_user.start(details))
    account = await _account(session, user.id)
    pair = _open_session(session, auth, account)
    await commit(session, conflict=errors.EmailTaken)
    return pair


async def login(
    session: AsyncSession, cache: Cache, auth: AuthContext, data: schemas.Login, *, address: str
) -> schemas.TokenPair:
    """Check the password (throttled per email and per address: the attempt is reserved first) and open a
    session.
    """
    throttle = LoginThrottle(cache, auth.throttle)
    await throttle.reserve(data.email, address)
    user = await reads.user_by_email(session, data.email)
    stored = user.password_hash if user is not None else None
    if user is None or not await auth.passwords.verify(stored, data.password):
        raise errors.InvalidCredentials()  # the attempt keeps its reservation
    if not user.is_active:  # told only to whoever knows the password
        raise errors.AccountDeactivated()
    await throttle.succeeded(data.email, address)
    if stored is not None and auth.passwords.needs_rehash(stored):
        user.password_hash = await auth.passwords.hash(data.password)
    pair = _open_session(session, auth, await _account(session, user.id))
    await commit(session)
    return pair


async def refresh(
    session: AsyncSession, auth: AuthContext, data: schemas.RefreshRequest
) -> schemas.TokenPair:
    """Trade a refresh token, once, for a new pair; a second use revokes every token of its login."""
    current = await _refresh_token(session, data.refresh_token)
    moment = now()
    if current is None or current.revoked_at is not None or current.expires_at <= moment:
        raise errors.RefreshTokenInvalid()
    rotated = cast(
        CursorResult[Any],
        await session.execute(
            sa.update(RefreshToken)
            .where(
                col(RefreshToken.id) == current.id,
                col(RefreshToken.rotated_at).is_(None),
                col(RefreshToken.revoked_at).is_(None),
            )
            .values(rotated_at=moment)
        ),
    )
    if rotated.rowcount != 1:  # already traded: a stolen copy, or the thief was first
        await _revoke_family(session, current.family_id)
        await commit(session)
        log.warning("refresh token reused; login revoked", extra={"userId": current.user_id})
        raise errors.RefreshTokenReused()
    account = await reads.account(session, current.user_id)
    if account is None or not account.user.is_active:
        await _revoke_family(session, current.family_id)
        await commit(session)
        raise errors.AccountDeactivated()
    pair = _open_session(session, auth, account, family_id=current.family_id)
    await commit(session)
    return pair


async def logout(session: AsyncSession, data: schemas.RefreshRequest) -> None:
    """Revoke the login the refresh token belongs to; an unknown token is no error (nothing to revoke)."""
    current = await _refresh_token(session, data.refresh_token)
    if current is not None:
        await _revoke_family(session, current.family_id)
        await commit(session)


async def complete_invitation(
    session: AsyncSession, auth: AuthContext, data: schemas.CompleteInvitation
) -> schemas.TokenPair:
    """Set the invitee's password and activate the account; an expired invitation removes the invitee."""
    user = (
        await session.scalars(
            sa.select(User).where(col(User.invitation_token_hash) == tokens.digest(data.token))
        )
    ).one_or_none()
    if user is None:
        raise errors.InvitationNotFound()
    if user.invitation_expires is None or user.invitation_expires <= now():
        await session.delete(user)
        record_event(session, events.user_deleted(user.id))
        await commit(session)
        raise errors.InvitationExpired()
    user.password_hash = await auth.passwords.hash(data.password)
    user.is_active = True
    user.invitation_token_hash = user.invitation_expires = None
    user.updated_at = now()
    record_event(session, events.user_changed(events.USER_UPDATED, reads.profile(user)))
    pair = _open_session(session, auth, await _account(session, user.id))
    await commit(session)
    return pair


async def validate(session: AsyncSession, verifier: TokenVerifier, token: str) -> schemas.Validation:
    """The seed's check for other services: the token is genuine and its user still active, with the
    permissions the user holds now (not those frozen in the token).
    """
    try:
        principal = await verifier.verify(token)
    except Unauthorized as exc:
        raise errors.TokenNotValid(exc.message, code=exc.code) from exc
    account = None if principal.is_service else await reads.account(session, principal.id)
    if account is None or not account.user.is_active:
        raise errors.TokenNotValid("User no longer exists or is inactive", code="AccountUnavailable")
    user = account.user
    return schemas.Validation(
        user=schemas.ValidatedUser(
            id=user.id,
            email=user.email,
            name=user.name,
            profile_image=user.profile_image,
            role=account.role.name,
            permissions=sorted(account.permissions),
        )
    )


def me(account: Account) -> schemas.Me:
    user = account.user
    return schemas.Me(
        id=user.id,
        name=user.name,
        email=user.email,
        profile_image=user.profile_image,
        language=user.language,
        role=schemas.RoleLabel(name=account.role.name),
    )


def service_token(auth: AuthContext, data: schemas.ServiceTokenRequest) -> schemas.ServiceToken:
    """A short-lived token for internal calls, with the identity's scopes, in exchange for its own secret."""
    expected = auth.service_credentials.get(data.service_id)
    if expected is None or not hmac.compare_digest(data.secret.encode(), expected.encode()):
        raise errors.ServiceCredentialsInvalid()
    claims = {
        "sub": f"{SERVICE_SUBJECT_PREFIX}{data.service_id}",
        "aud": SERVICE_AUDIENCE,
        "email": "",
        "name": data.service_id,
        "role": SERVICE_ROLE,
        "permissions": [],
        "scopes": sorted(SERVICE_SCOPES[data.service_id]),
    }
    return schemas.ServiceToken(token=auth.signer.sign(claims), expires_in=auth.signer.ttl)


def access_claims(account: Account) -> dict[str, Any]:
    """`sub`, `email`, `name`, `role` and `permissions`; `id` repeats `sub` for the seed's clients."""
    user = account.user
    return {
        "sub": user.id,
        "aud": USER_AUDIENCE,
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": account.role.name,
        "permissions": sorted(account.permissions),
    }


def _open_session(
    session: AsyncSession, auth: AuthContext, account: Account, *, family_id: str | None = None
) -> schemas.TokenPair:
    """An access token and the next refresh token of the login (`family_id`; a new login starts one)."""
    secret = tokens.new_secret()
    session.add(
        RefreshToken(
            user_id=account.id,
            family_id=family_id or new_id(),
            token_hash=tokens.digest(secret),
            expires_at=now() + auth.refresh_ttl,
        )
    )
    return schemas.TokenPair(
        token=auth.signer.sign(access_claims(account)), refresh_token=secret, expires_in=auth.signer.ttl
    )


async def revoke_sessions(session: AsyncSession, user_id: str) -> None:
    """End every login of a user (deactivation)."""
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now())
    )


async def _revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now())
    )


async def _refresh_token(session: AsyncSession, secret: str) -> RefreshToken | None:
    query = sa.select(RefreshToken).where(col(RefreshToken.token_hash) == tokens.digest(secret))
    return (await session.scalars(query)).one_or_none()


async def _account(session: AsyncSession, user_id: str) -> Account:
    found = await reads.account(session, user_id)
    if found is None:
        raise errors.UserNotFound()
    return found
