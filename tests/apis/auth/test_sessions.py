"""Refresh tokens: rotated on every use, a reused one revokes its whole login, logout and deactivation end
logins; service credentials for internal routes.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa

from contracts.scopes import SERVICE_SCOPES
from kit.auth.secrets import service_credential
from kit.auth.tokens import SERVICE_AUDIENCE, USER_AUDIENCE
from tests.apis.auth.conftest import World, bearer


async def refresh(world: World, token: str) -> tuple[int, dict[str, object]]:
    answer = await world.client.post("/refresh", json={"refreshToken": token})
    return answer.status_code, answer.json()


class TestRotation:
    async def test_a_refresh_token_is_traded_once_for_a_new_pair(self, world: World) -> None:
        person = await world.login(world.people["customer"].email)
        status, pair = await refresh(world, person.refresh_token)
        assert status == 200
        assert pair["refreshToken"] != person.refresh_token
        me = await world.client.get("/me", headers=bearer(str(pair["token"])))
        assert me.json()["id"] == person.id

    async def test_reusing_a_traded_token_revokes_every_token_of_that_login(self, world: World) -> None:
        first = await world.login(world.people["customer"].email)
        _, second = await refresh(world, first.refresh_token)
        status, answer = await refresh(world, first.refresh_token)  # a thief replays the old one
        assert status == 401
        assert answer["code"] == "RefreshTokenReused"
        status, answer = await refresh(world, str(second["refreshToken"]))  # so the owner's is dead too
        assert status == 401
        assert answer["code"] == "RefreshTokenInvalid"

    async def test_a_revoked_login_leaves_the_users_other_logins_alone(self, world: World) -> None:
        phone = await world.login(world.people["customer"].email)
        laptop = await world.login(world.people["customer"].email)
        await refresh(world, phone.refresh_token)
        await refresh(world, phone.refresh_token)
        assert (await refresh(world, laptop.refresh_token))[0] == 200

    async def test_two_simultaneous_trades_of_one_token_have_at_most_one_winner(self, world: World) -> None:
        person = await world.login(world.people["customer"].email)
        statuses = await asyncio.gather(*(refresh(world, person.refresh_token) for _ in range(2)))
        assert sorted(status for status, _ in statuses) == [200, 401]

    async def test_an_expired_refresh_token_is_refused(self, world: World) -> None:
        person = await world.login(world.people["customer"].email)
        async with world.engine.begin() as connection:
            await connection.execute(
                sa.text("UPDATE refresh_tokens SET expires_at = :past"), {"past": _past()}
            )
        assert (await refresh(world, person.refresh_token))[0] == 401

    async def test_refresh_tokens_are_stored_as_digests_only(self, world: World) -> None:
        person = await world.login(world.people["customer"].email)
        rows = await world.rows("refresh_tokens")
        assert all(person.refresh_token not in json.dumps(row, default=str) for row in rows)


class TestEndingLogins:
    async def test_logout_revokes_the_login(self, world: World) -> None:
        person = await world.login(world.people["customer"].email)
        answer = await world.client.post("/logout", json={"refreshToken": person.refresh_token})
        assert answer.status_code == 204
        assert answer.content == b""
        assert (await refresh(world, person.refresh_token))[0] == 401

    async def test_logging_out_with_an_unknown_token_is_harmless(self, world: World) -> None:
        answer = await world.client.post("/logout", json={"refreshToken": "never-issued"})
        assert answer.status_code == 204

    async def test_a_deactivated_user_cannot_refresh_even_once_reactivated(self, world: World) -> None:
        victim = await world.register()
        await world.client.delete(f"/users/{victim.id}", headers=world.headers("admin"))
        assert (await refresh(world, victim.refresh_token))[0] == 401
        await world.client.post(f"/users/{victim.id}/activate", headers=world.headers("admin"))
        assert (await refresh(world, victim.refresh_token))[0] == 401

    async def test_a_user_deactivated_behind_the_services_back_cannot_refresh(self, world: World) -> None:
        victim = await world.register()
        async with world.engine.begin() as connection:
            await connection.execute(
                sa.text("UPDATE users SET is_active = false WHERE id = :id"), {"id": victim.id}
            )
        status, answer = await refresh(world, victim.refresh_token)
        assert status == 403
        assert answer["code"] == "AccountDeactivated"


class TestServiceCredentials:
    async def test_a_wrong_secret_gets_no_service_token(self, world: World) -> None:
        answer = await world.client.post(
            "/internal/service-token", json={"serviceId": "orders", "secret": "x"}
        )
        assert answer.status_code == 401
        assert answer.json()["code"] == "InvalidServiceCredentials"

    async def test_one_identity_s_secret_opens_no_other_identity(self, world: World) -> None:
        """Each identity has its own credential: the carts' secret cannot name orders (or an unknown one)."""
        secret = service_credential(world.settings, "carts")
        for identity in ("orders", "stats"):
            answer = await world.client.post(
                "/internal/service-token", json={"serviceId": identity, "secret": secret}
            )
            assert answer.status_code == 401, identity
            assert answer.json()["code"] == "InvalidServiceCredentials"

    async def test_a_service_token_names_its_identity_s_scopes_and_the_internal_audience(
        self, world: World
    ) -> None:
        claims = jwt.decode(await world.service_token("carts"), options={"verify_signature": False})
        assert claims["aud"] == SERVICE_AUDIENCE
        assert claims["scopes"] == sorted(SERVICE_SCOPES["carts"])
        user = jwt.decode(world.people["customer"].token, options={"verify_signature": False})
        assert user["aud"] == USER_AUDIENCE
        assert "scopes" not in user

    async def test_resync_announces_every_active_user_again(self, world: World) -> None:
        token = await world.service_token("cli")
        before = len(await world.rows("outbox"))
        answer = await world.client.post("/internal/resync-users", headers=bearer(token))
        everyone = len(world.people)
        assert answer.json() == {"message": "User re-sync completed successfully.", "broadcasted": everyone}
        assert len(await world.rows("outbox")) == before + everyone


def _past() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)
