"""The auth service's own dependencies: its signing context, the client's address, and callers checked
against the database (fresh role and permissions, active account), not only against their token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from apis.auth import errors, reads
from apis.auth.context import AuthContext
from apis.auth.reads import Account
from kit.auth.callers import CurrentUser, MissingPermission
from kit.web import SessionDep, service_state


def get_auth(request: Request) -> AuthContext:
    """The service's lifespan state: what it signs and checks with."""
    return service_state(request, AuthContext)


def client_address(request: Request) -> str:
    """The client's address as kit.guards.TrustedForwarded resolved it: the one the gateway saw when the
    gateway called, the peer's otherwise (a client's own X-Forwarded-For is never read).
    """
    return request.client.host if request.client else "unknown"


async def get_caller(session: SessionDep, principal: CurrentUser) -> Account:
    """The calling user as stored now: a deactivated or deleted user's token no longer opens anything (a
    service's is refused by `CurrentUser`)."""
    account = await reads.account(session, principal.id)
    if account is None or not account.user.is_active:
        raise errors.AccountUnavailable()
    return account


AuthDep = Annotated[AuthContext, Depends(get_auth)]
AddressDep = Annotated[str, Depends(client_address)]
CallerDep = Annotated[Account, Depends(get_caller)]


def permitted(permission: str) -> Any:
    """A caller holding `permission` now, else 403: `caller: Annotated[Account, permitted("read:user")]`."""

    async def check(caller: CallerDep) -> Account:
        if not caller.can(permission):
            raise MissingPermission(permission)
        return caller

    return Depends(check)
