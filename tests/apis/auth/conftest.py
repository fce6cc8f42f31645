"""The auth service under test: its app on embedded adapters, and a small world of people holding tokens."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.auth.app import create_app
from contracts.scopes import SERVICE_SCOPES
from kit import db
from kit.auth.secrets import service_credential
from kit.settings import Settings
from tests.support import BOTH_DATABASES, asgi_client, on_database

ADMIN_EMAIL = "admin@commerce.local"
ADMIN_PASSWORD = "commerce-admin"
PASSWORD = "correct horse battery"
TABLES = ("users", "roles", "permissions", "role_permissions", "refresh_tokens", "seed_steps", "outbox")

_serial = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}"


# Runs a test (or, as `pytestmark`, a module) on a fresh SQLite file and on a scratch PostgreSQL database.
ON_BOTH_DATABASES = pytest.mark.parametrize("auth_settings", BOTH_DATABASES, indirect=True)


@pytest.fixture
async def auth_settings(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Settings]:
    """The embedded settings, or (a test marked `ON_BOTH_DATABASES`) them on a fresh database of each kind."""
    async with on_database(settings, getattr(request, "param", None), "auth") as on_it:
        yield on_it


@pytest.fixture
def app(auth_settings: Settings) -> FastAPI:
    return create_app(auth_settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


@pytest.fixture
async def engine(auth_settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[AsyncEngine]:
    """A second connection to the service's database (opened once the app has migrated it), to look inside."""
    engine = db.open_engine(auth_settings.for_service("auth").service_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def world(client: httpx.AsyncClient, auth_settings: Settings, engine: AsyncEngine) -> World:
    return await World.build(client, auth_settings, engine)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@dataclass
class Person:
    id: str
    email: str
    token: str
    refresh_token: str


@dataclass
class World:
    """An admin, two customers, a supervisor, a support agent, an auditor, a user manager (a custom role
    holding read, write and delete:user and the Customer's permissions) and every service identity, each
    logged in, over one running auth app.
    """

    client: httpx.AsyncClient
    settings: Settings
    engine: AsyncEngine
    people: dict[str, Person] = field(default_factory=dict)
    service_tokens: dict[str, str] = field(default_factory=dict)
    role_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def build(cls, client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine) -> World:
        world = cls(client, settings, engine)
        world.people["admin"] = await world.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        roles = await client.get("/roles", headers=world.headers("admin"))
        world.role_ids = {role["name"]: role["id"] for role in roles.json()}
        world.people["customer"] = await world.register("Carla Customer")
        world.people["other"] = await world.register("Omar Other")
        world.people["supervisor"] = await world.join("Fatima Supervisor", "Supervisor")
        world.people["support"] = await world.join("Sam Support", "Support")
        world.people["auditor"] = await world.join("Aude Auditor", "Auditor")
        customers = next(role for role in roles.json() if role["name"] == "Customer")["permissions"]
        user_manager = await world.new_role(
            "read:user", "write:user", "delete:user", *(p["name"] for p in customers)
        )
        world.people["manager"] = await world.join_as(user_manager, "Mia Manager")
        world.service_tokens = {name: await world.service_token(name) for name in SERVICE_SCOPES}
        return world

    async def service_token(self, identity: str) -> str:
        answer = await self.client.post(
            "/internal/service-token",
            json={"serviceId": identity, "secret": service_credential(self.settings, identity)},
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])

    def token(self, caller: str) -> str | None:
        if caller == "service":  # the command line's identity, which may resync users
            return self.service_tokens["cli"]
        if caller in self.service_tokens:  # another service: no scope on auth's internal routes
            return self.service_tokens[caller]
        person = self.people.get(caller)
        return person.token if person else None

    def headers(self, caller: str) -> dict[str, str]:
        return bearer(self.token(caller))

    async def login(self, email: str, password: str = PASSWORD) -> Person:
        answer = await self.client.post("/login", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        return await self._person(email, answer.json())

    async def register(self, name: str = "Someone", email: str | None = None) -> Person:
        email = email or f"{unique('user')}@example.com"
        answer = await self.client.post(
            "/register", json={"name": name, "email": email, "password": PASSWORD}
        )
        assert answer.status_code == 201, answer.text
        return await self._person(email, answer.json())

    async def invite(self, role: str, email: str | None = None) -> tuple[str, str]:
        """Invite someone as admin: (user id, invitation token)."""
        email = email or f"{unique('invitee')}@example.com"
        answer = await self.client.post(
            "/users/invite",
            json={"name": "Invitee", "email": email, "roleId": self.role_ids[role]},
            headers=self.headers("admin"),
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["userId"], answer.json()["invitationToken"]

    async def join(self, name: str, role: str) -> Person:
        """Someone invited with `role` who completed the invitation."""
        email = f"{unique('staff')}@example.com"
        _, invitation = await self.invite(role, email)
        answer = await self.client.post(
            "/complete-invitation", json={"token": invitation, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return await self._person(email, answer.json())

    async def join_as(self, role_id: str, name: str) -> Person:
        """Someone registered, then given the role `role_id` by the administrator."""
        person = await self.register(name)
        answer = await self.client.put(
            f"/users/{person.id}", json={"roleId": role_id}, headers=self.headers("admin")
        )
        assert answer.status_code == 200, answer.text
        return await self.login(person.email)

    async def new_role(self, *permissions: str) -> str:
        ids = await self.permission_ids(*permissions)
        answer = await self.client.post(
            "/roles", json={"name": unique("Role "), "permissionIds": ids}, headers=self.headers("admin")
        )
        assert answer.status_code == 201, answer.text
        role_id: str = answer.json()["id"]
        return role_id

    async def permission_ids(self, *names: str) -> list[str]:
        answer = await self.client.get("/permissions", headers=self.headers("admin"))
        by_name = {p["name"]: p["id"] for p in answer.json()}
        return [by_name[name] for name in names]

    async def rows(self, table: str, where: str = "") -> list[dict[str, Any]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(sa.text(f"SELECT * FROM {table} {where}"))
            return [dict(row) for row in result.mappings()]

    async def snapshot(self) -> dict[str, list[str]]:
        """Every row of every auth table, sorted: equal before and after means nothing was written."""
        tables = {table: await self.rows(table) for table in TABLES}
        # the relay's bookkeeping (attempts, delivered_at) moves on its own: compare what was recorded
        tables["outbox"] = [
            {k: row[k] for k in ("seq", "id", "kind", "key", "body")} for row in tables["outbox"]
        ]
        return {table: sorted(repr(sorted(row.items())) for row in rows) for table, rows in tables.items()}

    async def _person(self, email: str, tokens: dict[str, Any]) -> Person:
        me = await self.client.get("/me", headers=bearer(tokens["token"]))
        assert me.status_code == 200, me.text
        return Person(me.json()["id"], email, tokens["token"], tokens["refreshToken"])
