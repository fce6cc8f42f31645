"""Caller dependencies: routes declare who may call them with `CurrentUser`, `OptionalUser`,
`require_permission("create:product")` or, on internal routes, `require_scope(scopes.REINDEX)`; a bad token
is a 401, a missing permission or scope a 403. A user route needs a user: a service token there is a 403
(`UserRequired`); a route serving both (the saga's stock adjustments) takes a `CurrentCaller` and decides.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kit.auth.principal import Principal
from kit.auth.tokens import token_verifier
from kit.errors import Forbidden, Unauthorized


class MissingToken(Unauthorized):
    default_code = "MissingToken"

    def __init__(self) -> None:
        super().__init__("Authorization header missing or invalid", headers={"WWW-Authenticate": "Bearer"})


class MissingPermission(Forbidden):
    default_code = "MissingPermission"

    def __init__(self, *permissions: str) -> None:
        super().__init__(
            "Forbidden: You do not have the required permission to perform this action.",
            details=[{"permission": name} for name in permissions],
        )


_bearer = HTTPBearer(auto_error=False, description="An access token from `POST /auth/login`.")


async def optional_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal | None:
    """The caller, or None when no Authorization header came; a bad token is a 401, never anonymous."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise MissingToken()
        return None
    return await token_verifier(request).verify(credentials.credentials)


async def current_caller(caller: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    """The caller, a user or a service; 401 when the request carries no valid access token."""
    if caller is None:
        raise MissingToken()
    return caller


async def current_user(caller: Annotated[Principal, Depends(current_caller)]) -> Principal:
    """The calling user; 401 without a valid token, 403 for a service (its token is no user's)."""
    if caller.is_service:
        raise Forbidden("Forbidden: this route serves users, not services.", code="UserRequired")
    return caller


CurrentCaller = Annotated[Principal, Depends(current_caller)]
CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]


def require_permission(*permissions: str) -> Any:
    """A dependency admitting callers holding every one of `permissions` (403 otherwise), used as
    `_: Annotated[Principal, require_permission("create:product")]` or in `dependencies=[...]`.
    """

    async def check(user: CurrentUser) -> Principal:
        missing = [name for name in permissions if not user.can(name)]
        if missing:
            raise MissingPermission(*missing)
        return user

    return Depends(check)


class MissingScope(Forbidden):
    default_code = "MissingScope"

    def __init__(self, scope: str) -> None:
        super().__init__(
            "Forbidden: this service identity may not call this internal route.", details=[{"scope": scope}]
        )


def require_scope(scope: str) -> Any:
    """Internal routes: only a service whose identity holds `scope` (403 for users, whatever their role, and
    for other services), used as `_caller: Annotated[Principal, require_scope(scopes.WRITE_INDEX)]`.
    """

    async def check(user: CurrentCaller) -> Principal:
        if not user.is_service:
            raise Forbidden("Forbidden: service credentials required.", code="ServiceCredentialsRequired")
        if not user.has_scope(scope):
            raise MissingScope(scope)
        return user

    return Depends(check)
