"""The seed, run at every start: the seed's 28 permissions (and ours, `read:stats`, `rebuild:stats`,
`moderate:review`), its 5 roles and the first administrator are created or completed, never wiped (the seed
service deleted every user at each start).

Each seed step is recorded in `seed_steps` and applied once, so an operator's later change (a permission
taken from Supervisor, the Auditor role deleted) stays. Two invariants are restored at every start: the
foundational roles exist, and ADMIN holds every permission.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from apis.auth import reads
from apis.auth.models import Permission, Role, RolePermission, SeedStep, User, name_key
from apis.auth.passwords import Passwords
from apis.auth.reads import ADMIN
from apis.auth.service.roles import FOUNDATIONAL
from contracts import auth as events
from contracts import orders, reviews, stats
from kit import db
from kit.auth.secrets import InsecureConfiguration
from kit.outbox import record_event
from kit.schemas import normalise_email
from kit.settings import Settings

log = logging.getLogger(__name__)

PERMISSIONS: dict[str, str] = {
    "read:user": "View users",
    "write:user": "Invite, edit and activate users",
    "delete:user": "Deactivate users",
    "read:role": "View roles and permissions",
    "write:role": "Create, edit and delete roles",
    "read:product": "View products",
    "create:product": "Create products",
    "update:product": "Edit products",
    "delete:product": "Delete products",
    "read:category": "View categories",
    "create:category": "Create categories",
    "update:category": "Edit categories",
    "delete:category": "Delete categories",
    "read:stock": "View stock levels and movements",
    "adjust:stock": "Adjust stock",
    "read:order": "View every order",
    "update:order": "Change the status of orders",
    "read:my-orders": "View one's own orders",
    "create:order": "Place orders",
    orders.READ_RETURNS: "View return requests",
    orders.WRITE_RETURNS: "Handle return requests",
    reviews.READ_REVIEW: "View reviews",
    reviews.WRITE_REVIEW: "Write reviews",
    reviews.DELETE_REVIEW: "Delete reviews",
    "read:currency": "View currencies",
    "write:currency": "Manage currencies and rates",
    "read:promotion": "View promotions",
    "write:promotion": "Manage promotions",
    stats.READ_STATS: "View the sales statistics",
    stats.REBUILD_STATS: "Rebuild the statistics from the event stream",
    reviews.MODERATE_REVIEW: "Delete any customer's review",
}

ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    ADMIN: ("Super administrator with all permissions.", tuple(PERMISSIONS)),
    "Supervisor": (
        "Oversees operations and users.",
        (
            "read:user",
            "read:order",
            "read:product",
            "read:category",
            "read:stock",
            "update:order",
            "adjust:stock",
            stats.READ_STATS,
            reviews.MODERATE_REVIEW,
        ),
    ),
    "Support": ("Provides technical assistance.", ("read:user", "read:order")),
    "Auditor": (
        "Reviews system activities.",
        (
            "read:user",
            "read:role",
            "read:product",
            "read:category",
            "read:order",
            "read:stock",
            stats.READ_STATS,
        ),
    ),
    "Customer": (
        "Customer role with permissions to browse and purchase.",
        ("read:my-orders", "create:order", reviews.READ_REVIEW, reviews.WRITE_REVIEW, reviews.DELETE_REVIEW),
    ),
}

ADMIN_NAME = "Super Admin"


def refuse_unsafe_admin(settings: Settings) -> None:
    """In production the first administrator's password must be set, and not to the development default."""
    default = Settings.model_fields["admin_password"].default.get_secret_value()
    password = settings.admin_password.get_secret_value()
    if settings.environment == "production" and (password == default or len(password) < 12):
        raise InsecureConfiguration(
            "COMMERCE_ADMIN_PASSWORD must be set in production (12 characters or more, not the default)."
        )


async def run(sessions: async_sessionmaker[AsyncSession], settings: Settings, passwords: Passwords) -> None:
    """Complete the seed in one transaction; a replica seeding at the same moment makes us look again."""
    refuse_unsafe_admin(settings)
    for attempt in (1, 2):
        try:
            async with db.transaction(sessions) as session:
                await _seed(session, settings, passwords)
            return
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("another instance seeded at the same time; checking again")


async def _seed(session: AsyncSession, settings: Settings, passwords: Passwords) -> None:
    permissions = await _permissions(session)
    done = set(await session.scalars(sa.select(col(SeedStep.key))))
    roles = {role.name: role for role in await session.scalars(sa.select(Role))}
    for name, (description, _) in ROLES.items():
        if name not in roles and (name in FOUNDATIONAL or f"role:{name}" not in done):
            roles[name] = Role(name=name, name_key=name_key(name), description=description)
            session.add(roles[name])
        _record(session, done, f"role:{name}")
    await session.flush()
    held = await reads.permissions_of(session, [role.id for role in roles.values()])
    for name, (_, granted) in ROLES.items():
        role = roles.get(name)
        has = {p.name for p in held[role.id]} if role else set()
        for permission in granted:
            step = f"grant:{name}:{permission}"
            if role is not None and permission not in has and (name == ADMIN or step not in done):
                session.add(RolePermission(role_id=role.id, permission_id=permissions[permission].id))
            _record(session, done, step)
    await session.flush()
    await _first_administrator(session, settings, passwords, roles[ADMIN])


async def _permissions(session: AsyncSession) -> dict[str, Permission]:
    """Every permission the code checks exists (extra ones are left alone)."""
    found = {p.name: p for p in await session.scalars(sa.select(Permission))}
    for name, description in PERMISSIONS.items():
        if name not in found:
            found[name] = Permission(name=name, description=description)
            session.add(found[name])
    return found


async def _first_administrator(
    session: AsyncSession, settings: Settings, passwords: Passwords, admin: Role
) -> None:
    """The administrator from settings, created when no account has that email (never changed afterwards)."""
    email = normalise_email(settings.admin_email)
    if (await session.scalars(sa.select(col(User.id)).where(col(User.email) == email))).first() is not None:
        return
    user = User(
        name=ADMIN_NAME,
        email=email,
        password_hash=await passwords.hash(settings.admin_password.get_secret_value()),
        role_id=admin.id,
    )
    session.add(user)
    await session.flush()
    record_event(session, events.user_changed(events.USER_CREATED, reads.profile(user)))
    log.info("first administrator created", extra={"email": email})


def _record(session: AsyncSession, done: set[str], step: str) -> None:
    if step not in done:
        done.add(step)
        session.add(SeedStep(key=step))
