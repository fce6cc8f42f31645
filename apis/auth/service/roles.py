"""Roles and permissions: the seed's routes and guard rails (foundational roles stay, a role in use stays),
plus one of ours: nobody grants a permission they do not hold.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.auth import errors, reads, schemas
from apis.auth.models import Permission, Role, RolePermission, User, name_key
from apis.auth.reads import ADMIN, Account
from kit.auth.services import SERVICE_ROLE
from kit.db import commit, flush, now

# Roles the code relies on: ADMIN holds every permission, registration yields a Customer.
FOUNDATIONAL = (ADMIN, schemas.CUSTOMER)


def ensure_grantable(caller: Account, permissions: Iterable[str]) -> None:
    """Refuse to hand out (through a role or a role assignment) a permission the caller lacks."""
    missing = sorted(set(permissions) - caller.permissions)
    if missing:
        raise errors.PrivilegeEscalation(missing)


async def list_roles(session: AsyncSession) -> list[schemas.RoleRead]:
    roles = (await session.scalars(sa.select(Role).order_by(col(Role.name)))).all()
    return await reads.roles_read(session, roles)


async def get_role(session: AsyncSession, role_id: str) -> schemas.RoleRead:
    return (await reads.roles_read(session, [await _role(session, role_id)]))[0]


async def list_permissions(session: AsyncSession) -> list[schemas.PermissionRead]:
    permissions = await session.scalars(sa.select(Permission).order_by(col(Permission.name)))
    return [reads.permission_read(permission) for permission in permissions]


async def create_role(session: AsyncSession, caller: Account, data: schemas.RoleCreate) -> schemas.RoleRead:
    await _ensure_name_free(session, data.name)
    permissions = await _permissions(session, data.permission_ids or [])
    ensure_grantable(caller, (p.name for p in permissions))
    role = Role(name=data.name, name_key=name_key(data.name), description=data.description)
    session.add(role)
    await flush(session, conflict=lambda: errors.RoleNameTaken(data.name))
    session.add_all(RolePermission(role_id=role.id, permission_id=p.id) for p in permissions)
    await commit(session, conflict=lambda: errors.RoleNameTaken(data.name))
    return await get_role(session, role.id)


async def update_role(
    session: AsyncSession, caller: Account, role_id: str, data: schemas.RoleUpdate
) -> schemas.RoleRead:
    """Rename, describe, or replace the permission set (a list given replaces the whole set)."""
    if not data.model_fields_set:
        raise errors.NothingToUpdate("name, description, permissionIds")
    role = await _role(session, role_id)
    if data.name is not None and data.name != role.name:
        if role.name in FOUNDATIONAL:
            raise errors.FoundationalRole(
                f"Forbidden: The foundational '{role.name}' role cannot be renamed."
            )
        new_name = data.name
        await _ensure_name_free(session, new_name, but=role.id)
        role.name, role.name_key = new_name, name_key(new_name)
        await flush(session, conflict=lambda: errors.RoleNameTaken(new_name))  # lost to a concurrent rename
    if "description" in data.model_fields_set:
        role.description = data.description
    if data.permission_ids is not None:
        await _replace_permissions(session, caller, role, data.permission_ids)
    role.updated_at = now()
    name = role.name  # read now: a rolled-back role is expired, and reading it then would fail (a 500)
    await commit(session, conflict=lambda: errors.RoleNameTaken(name))
    return await get_role(session, role.id)


async def delete_role(session: AsyncSession, role_id: str) -> None:
    role = await _role(session, role_id)
    if role.name in FOUNDATIONAL:
        raise errors.FoundationalRole(f"Forbidden: The foundational '{role.name}' role cannot be deleted.")
    members = await session.scalar(
        sa.select(sa.func.count()).select_from(User).where(col(User.role_id) == role.id)
    )
    if members:
        raise errors.RoleInUse(int(members))
    await session.delete(role)
    await commit(session, conflict=lambda: errors.RoleInUse(1))  # a user joined it meanwhile


async def _replace_permissions(session: AsyncSession, caller: Account, role: Role, ids: list[str]) -> None:
    if role.name == ADMIN:
        raise errors.FoundationalRole(
            "Forbidden: The foundational 'ADMIN' role always holds every permission."
        )
    wanted = await _permissions(session, ids)
    held = {p.id for p in (await reads.permissions_of(session, [role.id]))[role.id]}
    ensure_grantable(caller, (p.name for p in wanted if p.id not in held))
    await session.execute(sa.delete(RolePermission).where(col(RolePermission.role_id) == role.id))
    session.add_all(RolePermission(role_id=role.id, permission_id=p.id) for p in wanted)


async def _role(session: AsyncSession, role_id: str) -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise errors.RoleNotFound()
    return role


async def _ensure_name_free(session: AsyncSession, name: str, *, but: str | None = None) -> None:
    """Role names are unique regardless of case (`admin` next to `ADMIN` would only confuse); the service
    tokens' role name is nobody's.
    """
    if name_key(name) == SERVICE_ROLE:
        raise errors.ReservedRoleName(name)
    query = sa.select(col(Role.id)).where(col(Role.name_key) == name_key(name), col(Role.id) != (but or ""))
    if (await session.scalars(query)).first() is not None:
        raise errors.RoleNameTaken(name)


async def _permissions(session: AsyncSession, ids: list[str]) -> list[Permission]:
    wanted = set(ids)
    found = list(await session.scalars(sa.select(Permission).where(col(Permission.id).in_(wanted))))
    unknown = sorted(wanted - {p.id for p in found})
    if unknown:
        raise errors.InvalidPermissionIds(unknown)
    return found
