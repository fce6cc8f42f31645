"""The seed at start-up: completed, never wiped, never undoing an operator's change; keys kept across
restarts; production refuses unsafe defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from apis.auth import seed
from apis.auth.app import create_app
from contracts.scopes import SERVICE_SCOPES
from kit import db
from kit.auth.secrets import InsecureConfiguration
from kit.settings import Settings
from tests.apis.auth.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TABLES, World, bearer
from tests.support import asgi_client, embedded_settings


async def snapshot(settings: Settings) -> dict[str, list[str]]:
    engine = db.open_engine(settings.for_service("auth").service_database_url)
    try:
        return await World(httpx.AsyncClient(), settings, engine).snapshot()
    finally:
        await engine.dispose()


async def admin_token(client: httpx.AsyncClient) -> str:
    answer = await client.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


async def test_starting_again_loses_and_duplicates_nothing(world: World, settings: Settings) -> None:
    before = await snapshot(settings)
    async with asgi_client(create_app(settings)):  # a second instance on the same database
        pass
    assert await snapshot(settings) == before


async def test_a_restart_keeps_users_passwords_and_the_signing_key(settings: Settings) -> None:
    async with asgi_client(create_app(settings)) as client:
        registered = await client.post(
            "/register", json={"name": "Kept", "email": "kept@example.com", "password": PASSWORD}
        )
        token = registered.json()["token"]
    async with asgi_client(create_app(settings)) as client:
        assert (await client.get("/me", headers=bearer(token))).json()["email"] == "kept@example.com"
        login = await client.post("/login", json={"email": "kept@example.com", "password": PASSWORD})
        assert login.status_code == 200


async def test_a_restart_does_not_undo_an_operators_changes(settings: Settings) -> None:
    async with asgi_client(create_app(settings)) as client:
        headers = bearer(await admin_token(client))
        roles = {role["name"]: role for role in (await client.get("/roles", headers=headers)).json()}
        supervisor = roles["Supervisor"]
        keep = [p["id"] for p in supervisor["permissions"] if p["name"] == "read:user"]
        await client.put(f"/roles/{supervisor['id']}", json={"permissionIds": keep}, headers=headers)
        await client.delete(f"/roles/{roles['Auditor']['id']}", headers=headers)
        await client.put(f"/roles/{roles['Support']['id']}", json={"name": "Helpdesk"}, headers=headers)
    async with asgi_client(create_app(settings)) as client:
        headers = bearer(await admin_token(client))
        roles = {role["name"]: role for role in (await client.get("/roles", headers=headers)).json()}
    assert set(roles) == {"ADMIN", "Customer", "Supervisor", "Helpdesk"}
    assert [p["name"] for p in roles["Supervisor"]["permissions"]] == ["read:user"]
    assert len(roles["ADMIN"]["permissions"]) == len(seed.PERMISSIONS)


async def test_a_start_completes_what_is_missing(settings: Settings) -> None:
    async with asgi_client(create_app(settings)):
        pass
    engine = db.open_engine(settings.for_service("auth").service_database_url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("DELETE FROM permissions WHERE name = 'adjust:stock'")
    finally:
        await engine.dispose()
    async with asgi_client(create_app(settings)) as client:
        headers = bearer(await admin_token(client))
        permissions = (await client.get("/permissions", headers=headers)).json()
        roles = {role["name"]: role for role in (await client.get("/roles", headers=headers)).json()}
    assert "adjust:stock" in {p["name"] for p in permissions}
    assert "adjust:stock" in {p["name"] for p in roles["ADMIN"]["permissions"]}


async def test_the_first_administrator_comes_from_the_settings(tmp_path: Path) -> None:
    settings = embedded_settings(
        tmp_path, admin_email="Boss@Shop.example", admin_password=SecretStr("a long secret")
    )
    async with asgi_client(create_app(settings)) as client:
        answer = await client.post("/login", json={"email": "boss@shop.example", "password": "a long secret"})
        me = await client.get("/me", headers=bearer(answer.json()["token"]))
    assert me.json()["role"] == {"name": "ADMIN"}


def production(tmp_path: Path, **overrides: Any) -> Settings:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    values: dict[str, Any] = {
        "environment": "production",
        "jwt_private_key": SecretStr(pem.decode()),
        "service_credentials": {name: SecretStr(f"the {name} credential") for name in SERVICE_SCOPES},
        "admin_password": SecretStr("a strong production password"),
    }
    return embedded_settings(tmp_path, **(values | overrides))


async def test_production_starts_with_its_secrets_configured(tmp_path: Path) -> None:
    async with asgi_client(create_app(production(tmp_path))) as client:
        assert (await client.get("/.well-known/jwks.json")).status_code == 200
    assert not (tmp_path / "auth-signing-key.pem").exists()


@pytest.mark.parametrize(
    ("unsafe", "variable"),
    [
        ({"admin_password": SecretStr("commerce-admin")}, "COMMERCE_ADMIN_PASSWORD"),
        ({"jwt_private_key": None}, "COMMERCE_JWT_PRIVATE_KEY"),
        ({"jwt_private_key": SecretStr("not a key")}, "COMMERCE_JWT_PRIVATE_KEY"),
        ({"service_credentials": {}}, "COMMERCE_SERVICE_CREDENTIALS"),
        ({"service_credentials": {"orders": SecretStr("only one")}}, "COMMERCE_SERVICE_CREDENTIALS"),
    ],
)
async def test_production_refuses_to_start_with_unsafe_secrets(
    tmp_path: Path, unsafe: dict[str, Any], variable: str
) -> None:
    with pytest.raises(InsecureConfiguration, match=variable):
        async with asgi_client(create_app(production(tmp_path, **unsafe))):
            pass


async def test_the_snapshots_of_these_tests_cover_every_table_of_the_service(world: World) -> None:
    async with world.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
    assert names - {"alembic_version"} == set(TABLES)
