"""Reads shared by the auth service's use cases: accounts with their fresh permissions, and the read models
(`UserDetailed`, `RoleRead`) built with a fixed number of queries, whatever the page size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.auth import schemas
from apis.auth.models import Permission, Role, RolePermission, User
from contracts.auth import UserProfile

ADMIN = "ADMIN"


@dataclass(frozen=True)
class Account:
    """A user as the database says now: role and permissions read fresh, not from a token."""

    user: User
    role: Role
    permissions: frozenset[str]

    @property
    def id(self) -> str:
        return self.user.id

    def can(self, permission: str) -> bool:
        return permission in self.permissions


async def account(session: AsyncSession, user_id: str) -> Account | None:
    row = (
        await session.execute(
            sa.select(User, Role).join(Role, col(Role.id) == col(User.role_id)).where(col(User.id) == user_id)
        )
    ).one_or_none()
    if row is None:
        return None
    user, role = row
    names = (await permissions_of(session, [role.id]))[role.id]
    return Account(user, role, frozenset(permission.name for permission in names))


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.scalars(sa.select(User).where(col(User.email) == email))).one_or_none()


async def role_named(session: AsyncSession, name: str) -> Role | None:
    return (await session.scalars(sa.select(Role).where(col(Role.name) == name))).one_or_none()


async def permissions_of(session: AsyncSession, role_ids: Iterable[str]) -> dict[str, list[Permission]]:
    """Each role's permissions, ordered by name."""
    ids = list(set(role_ids))
    found: dict[str, list[Permission]] = defaultdict(list)
    rows = await session.execute(
        sa.select(col(RolePermission.role_id), Permission)
        .join(Permission, col(Permission.id) == col(RolePermission.permission_id))
        .where(col(RolePermission.role_id).in_(ids))
        .order_by(col(Permission.name))
    )
    for role_id, permission in rows:
        found[role_id].append(permission)
    return found


def profile(user: User) -> UserProfile:
    return UserProfile.model_validate(
        {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "profile_image": user.profile_image,
            "language": user.language,
        }
    )


def permission_read(permission: Permission) -> schemas.PermissionRead:
    return schemas.PermissionRead(id=permission.id, name=permission.name, description=permission.description)


async def users_detailed(session: AsyncSession, users: Sequence[User]) -> list[schemas.UserDetailed]:
    roles = {
        role.id: role
        for role in await session.scalars(
            sa.select(Role).where(col(Role.id).in_({user.role_id for user in users}))
        )
    }
    permissions = await permissions_of(session, roles)
    return [
        schemas.UserDetailed(
            id=user.id,
            name=user.name,
            email=user.email,
            profile_image=user.profile_image,
            language=user.language,
            is_active=user.is_active,
            created_at=user.created_at,
            updated_at=user.updated_at,
            role=schemas.RoleWithPermissions(
                id=user.role_id,
                name=roles[user.role_id].name,
                description=roles[user.role_id].description,
                permissions=[permission_read(p) for p in permissions[user.role_id]],
            ),
        )
        for user in users
    ]


async def user_detailed(session: AsyncSession, user: User) -> schemas.UserDetailed:
    return (await users_detailed(session, [user]))[0]


async def roles_read(session: AsyncSession, roles: Sequence[Role]) -> list[schemas.RoleRead]:
    """Roles with their permissions, their first five members (oldest first) and their member count."""
    ids = [role.id for role in roles]
    permissions = await permissions_of(session, ids)
    counted = await session.execute(
        sa.select(col(User.role_id), sa.func.count())
        .where(col(User.role_id).in_(ids))
        .group_by(col(User.role_id))
    )
    counts: dict[str, int] = dict(counted.all())
    rank = (
        sa.func.row_number()
        .over(partition_by=col(User.role_id), order_by=(col(User.created_at), col(User.id)))
        .label("rank")
    )
    ranked = (
        sa.select(col(User.id), col(User.name), col(User.profile_image), col(User.role_id), rank)
        .where(col(User.role_id).in_(ids))
        .subquery()
    )
    members: dict[str, list[schemas.RoleMember]] = defaultdict(list)
    for row in await session.execute(sa.select(ranked).where(ranked.c.rank <= 5).order_by(ranked.c.rank)):
        members[row.role_id].append(
            schemas.RoleMember(id=row.id, name=row.name, profile_image=row.profile_image)
        )
    return [
        schemas.RoleRead(
            id=role.id,
            name=role.name,
            description=role.description,
            permissions=[permission_read(p) for p in permissions[role.id]],
            users=members[role.id],
            user_count=counts.get(role.id, 0),
        )
        for role in roles
    ]
