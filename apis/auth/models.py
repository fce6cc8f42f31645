"""The auth database: users, roles, permissions, refresh tokens, and the seed's ledger.

Tables are created by the Alembic scripts in `migrations/`; these classes map them. Secrets are never stored
in the clear: passwords as argon2 hashes, refresh and invitation tokens as SHA-256 digests.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlmodel import Field, SQLModel

from kit.db import UTCDateTime, new_id, now, service_registry
from kit.localisation import DEFAULT_LANGUAGE
from kit.outbox import OutboxMessage


class Base(SQLModel, registry=service_registry(OutboxMessage)):
    """The auth service's tables: a metadata of their own, with a copy of the kit's outbox."""


class Permission(Base, table=True):
    __tablename__ = "permissions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=100, unique=True)
    description: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


def name_key(name: str) -> str:
    """What role names are unique by: case-folded (all of Unicode, where SQLite's `lower()` folds ASCII
    only) and normalised, so that `ÉQUIPE-R` and `équipe-r` are one name.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


class Role(Base, table=True):
    __tablename__ = "roles"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=100, unique=True)
    name_key: str = Field(max_length=400, unique=True)  # name_key(name): set with every name
    description: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class RolePermission(Base, table=True):
    __tablename__ = "role_permissions"

    role_id: str = Field(foreign_key="roles.id", primary_key=True, max_length=36, ondelete="CASCADE")
    permission_id: str = Field(
        foreign_key="permissions.id", primary_key=True, max_length=36, ondelete="CASCADE"
    )
    assigned_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class User(Base, table=True):
    __tablename__ = "users"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254, unique=True)  # normalised: trimmed, lower-case
    password_hash: str | None = Field(default=None, max_length=255)  # None for a pending invitee
    is_active: bool = True
    profile_image: str | None = Field(default=None, max_length=2048)
    language: str = Field(default=DEFAULT_LANGUAGE, max_length=8)  # their mails' (contracts.auth.Language)
    invitation_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    invitation_expires: datetime | None = Field(default=None, sa_type=UTCDateTime)
    role_id: str = Field(foreign_key="roles.id", index=True, max_length=36, ondelete="RESTRICT")
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)

    @property
    def is_pending_invitee(self) -> bool:
        return not self.is_active and self.invitation_token_hash is not None


class RefreshToken(Base, table=True):
    """One refresh token; rotation marks it used and issues the next one of the same family (one login)."""

    __tablename__ = "refresh_tokens"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=36, ondelete="CASCADE")
    family_id: str = Field(index=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SeedStep(Base, table=True):
    """A seed step applied once (`role:Supervisor`, `grant:Supervisor:read:user`), so that an operator's later
    change (a role trimmed or deleted) is never undone by the next start.
    """

    __tablename__ = "seed_steps"

    key: str = Field(primary_key=True, max_length=200)
    applied_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
