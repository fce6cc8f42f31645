"""The auth routes, as the seed's clients call them (through the gateway, under `/auth`): thin handlers
over `service.accounts`, `service.users` and `service.roles`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from apis.auth import schemas
from apis.auth.dependencies import AddressDep, AuthDep, CallerDep, permitted
from apis.auth.reads import Account
from apis.auth.service import accounts, roles, users
from contracts import scopes
from kit.auth.callers import require_scope
from kit.auth.principal import Principal
from kit.auth.services import SERVICE_TOKEN_PATH
from kit.auth.tokens import JWKS_PATH, token_verifier
from kit.localisation import LanguageDep
from kit.web import CacheDep, SessionDep

router = APIRouter()

ReadUser = Annotated[Account, permitted("read:user")]
WriteUser = Annotated[Account, permitted("write:user")]
DeleteUser = Annotated[Account, permitted("delete:user")]
ReadRole = Annotated[Account, permitted("read:role")]
WriteRole = Annotated[Account, permitted("write:role")]


# --- accounts and tokens ---------------------------------------------------------------------------------


@router.post("/register", status_code=201, tags=["accounts"], summary="Create a Customer account")
async def register(
    data: schemas.UserRegister, session: SessionDep, auth: AuthDep, language: LanguageDep
) -> schemas.TokenPair:
    return await accounts.register(session, auth, data, language=language)


@router.post("/login", tags=["accounts"], summary="Trade email and password for tokens (throttled)")
async def login(
    data: schemas.Login, session: SessionDep, cache: CacheDep, auth: AuthDep, address: AddressDep
) -> schemas.TokenPair:
    return await accounts.login(session, cache, auth, data, address=address)


@router.post("/refresh", tags=["accounts"], summary="Trade a refresh token, once, for a new pair")
async def refresh(data: schemas.RefreshRequest, session: SessionDep, auth: AuthDep) -> schemas.TokenPair:
    return await accounts.refresh(session, auth, data)


@router.post("/logout", status_code=204, tags=["accounts"], summary="Revoke the refresh token's login")
async def logout(data: schemas.RefreshRequest, session: SessionDep) -> None:
    await accounts.logout(session, data)


@router.get("/me", tags=["accounts"], summary="The calling user")
async def me(caller: CallerDep) -> schemas.Me:
    return accounts.me(caller)


@router.post("/complete-invitation", tags=["accounts"], summary="Set a password and activate an invitation")
async def complete_invitation(
    data: schemas.CompleteInvitation, session: SessionDep, auth: AuthDep
) -> schemas.TokenPair:
    return await accounts.complete_invitation(session, auth, data)


@router.post("/validate", tags=["tokens"], summary="Check a token and read the user's current permissions")
async def validate(
    data: schemas.ValidateRequest, session: SessionDep, request: Request
) -> schemas.Validation:
    return await accounts.validate(session, token_verifier(request), data.token)


@router.get(JWKS_PATH, tags=["tokens"], summary="The public keys access tokens are signed with")
async def jwks(auth: AuthDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return auth.signer.jwks()


# --- users ---------------------------------------------------------------------------------------------


@router.post("/users/invite", status_code=201, tags=["users"], summary="Invite a user (write:user)")
async def invite_user(
    data: schemas.UserInvite, session: SessionDep, auth: AuthDep, caller: WriteUser
) -> schemas.Invitation:
    return await users.invite(session, auth, caller, data)


@router.get("/users", tags=["users"], summary="List users (read:user)")
async def list_users(
    query: Annotated[schemas.UserQuery, Query()], session: SessionDep, _: ReadUser
) -> schemas.UserPage:
    return await users.list_users(session, query)


@router.get("/users/{user_id}", tags=["users"], summary="A user (read:user, or oneself)")
async def get_user(user_id: str, session: SessionDep, caller: CallerDep) -> schemas.UserDetailed:
    return await users.get_user(session, caller, user_id)


@router.put("/users/{user_id}", tags=["users"], summary="Edit a user (write:user, or one's own profile)")
async def update_user(
    user_id: str, data: schemas.UserUpdate, session: SessionDep, caller: CallerDep
) -> schemas.UserDetailed:
    return await users.update_user(session, caller, user_id, data)


@router.delete("/users/{user_id}", status_code=204, tags=["users"], summary="Deactivate a user (delete:user)")
async def deactivate_user(user_id: str, session: SessionDep, caller: DeleteUser) -> None:
    await users.deactivate_user(session, caller, user_id)


@router.post("/users/{user_id}/activate", tags=["users"], summary="Reactivate a user (write:user)")
async def activate_user(user_id: str, session: SessionDep, caller: WriteUser) -> schemas.UserDetailed:
    return await users.activate_user(session, caller, user_id)


# --- roles and permissions --------------------------------------------------------------------------


@router.get("/roles", tags=["roles"], summary="Roles by name (read:role)")
async def list_roles(session: SessionDep, _: ReadRole) -> list[schemas.RoleRead]:
    return await roles.list_roles(session)


@router.post("/roles", status_code=201, tags=["roles"], summary="Create a role (write:role)")
async def create_role(data: schemas.RoleCreate, session: SessionDep, caller: WriteRole) -> schemas.RoleRead:
    return await roles.create_role(session, caller, data)


@router.get("/roles/{role_id}", tags=["roles"], summary="A role (read:role)")
async def get_role(role_id: str, session: SessionDep, _: ReadRole) -> schemas.RoleRead:
    return await roles.get_role(session, role_id)


@router.put("/roles/{role_id}", tags=["roles"], summary="Edit a role (write:role)")
async def update_role(
    role_id: str, data: schemas.RoleUpdate, session: SessionDep, caller: WriteRole
) -> schemas.RoleRead:
    return await roles.update_role(session, caller, role_id, data)


@router.delete(
    "/roles/{role_id}", status_code=204, tags=["roles"], summary="Delete an unused role (write:role)"
)
async def delete_role(role_id: str, session: SessionDep, _: WriteRole) -> None:
    await roles.delete_role(session, role_id)


@router.get("/permissions", tags=["roles"], summary="Permissions by name (read:role)")
async def list_permissions(session: SessionDep, _: ReadRole) -> list[schemas.PermissionRead]:
    return await roles.list_permissions(session)


# --- internal: other services only (the gateway never forwards /internal/) ------------------------------


@router.post(SERVICE_TOKEN_PATH, tags=["internal"], summary="Trade an identity's secret for a service token")
async def service_token(data: schemas.ServiceTokenRequest, auth: AuthDep) -> schemas.ServiceToken:
    return accounts.service_token(auth, data)


@router.post("/internal/resync-users", tags=["internal"], summary="Announce every active user again")
async def resync_users(
    session: SessionDep, _: Annotated[Principal, require_scope(scopes.RESYNC_USERS)]
) -> schemas.Resync:
    return await users.resync_users(session)
