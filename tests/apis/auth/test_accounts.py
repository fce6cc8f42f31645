"""Registration, login, `/me`, `/validate` and invitations, with the seed's defects fixed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa

from tests.apis.auth.conftest import PASSWORD, World, bearer


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


class TestRegistration:
    async def test_registration_always_creates_a_customer(self, world: World) -> None:
        body = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "roleName": "Customer"}
        answer = await world.client.post("/register", json=body)
        assert answer.status_code == 201
        me = await world.client.get("/me", headers=bearer(answer.json()["token"]))
        assert me.json()["role"] == {"name": "Customer"}

    async def test_emails_are_trimmed_lower_cased_and_unique_whatever_their_case(self, world: World) -> None:
        person = await world.register("Ada", email="  Ada.Lovelace@Example.COM ")
        me = await world.client.get("/me", headers=bearer(person.token))
        assert me.json()["email"] == "ada.lovelace@example.com"
        again = {"name": "Ada", "email": "ADA.LOVELACE@example.com", "password": PASSWORD}
        duplicate = await world.client.post("/register", json=again)
        assert duplicate.status_code == 409
        assert duplicate.json() == {"message": "User already exists", "code": "EmailTaken"}

    async def test_passwords_are_stored_as_argon2id_hashes(self, world: World) -> None:
        person = await world.register()
        [row] = await world.rows("users", f"WHERE id = '{person.id}'")
        assert row["password_hash"].startswith("$argon2id$")
        assert PASSWORD not in row["password_hash"]

    async def test_registration_records_the_start_of_its_workflow_in_the_same_transaction(
        self, world: World
    ) -> None:
        person = await world.register("Grace", email="grace@example.com")
        [start] = await world.rows("outbox", f"WHERE key = 'register-user-{person.id}'")
        body = start["body"] if isinstance(start["body"], dict) else json.loads(start["body"])
        assert start["kind"] == "workflow"
        assert body["workflow"] == "RegisterUserWorkflow"
        assert body["task_queue"] == "users"
        assert body["args"] == [
            {
                "user_id": person.id,
                "name": "Grace",
                "email": "grace@example.com",
                "profile_image": None,
                "language": "en",
            }
        ]

    async def test_the_access_token_is_eddsa_signed_lasts_fifteen_minutes_and_names_the_user(
        self, world: World
    ) -> None:
        answer = await world.client.post(
            "/register", json={"name": "Lin", "email": "lin@example.com", "password": PASSWORD}
        )
        pair = answer.json()
        assert pair["tokenType"] == "Bearer"
        assert pair["expiresIn"] == 900
        jwks = (await world.client.get("/.well-known/jwks.json")).json()
        header = jwt.get_unverified_header(pair["token"])
        assert header["alg"] == "EdDSA"
        assert header["kid"] == jwks["keys"][0]["kid"]
        claims = jwt.decode(
            pair["token"],
            jwt.PyJWK(jwks["keys"][0]).key,
            algorithms=["EdDSA"],
            issuer="commerce-auth",
            audience="commerce",
        )
        assert claims["exp"] - claims["iat"] == 900
        assert claims["email"] == "lin@example.com"
        assert claims["name"] == "Lin"
        assert claims["role"] == "Customer"
        assert claims["permissions"] == sorted(
            ["read:my-orders", "create:order", "read:review", "write:review", "delete:review"]
        )
        assert claims["sub"] == claims["id"]


class TestLogin:
    async def test_login_ignores_the_case_of_the_email(self, world: World) -> None:
        person = await world.register(email="case@example.com")
        answer = await world.client.post("/login", json={"email": " CASE@Example.com", "password": PASSWORD})
        assert answer.status_code == 200
        assert claims_of(answer.json()["token"])["sub"] == person.id

    async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(self, world: World) -> None:
        wrong = await world.client.post(
            "/login", json={"email": world.people["customer"].email, "password": "not the password"}
        )
        unknown = await world.client.post(
            "/login", json={"email": "nobody@example.com", "password": PASSWORD}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert (
            wrong.json() == unknown.json() == {"message": "Invalid credentials", "code": "InvalidCredentials"}
        )

    async def test_a_pending_invitee_cannot_log_in_before_choosing_a_password(self, world: World) -> None:
        await world.invite("Support", email="pending@example.com")
        answer = await world.client.post(
            "/login", json={"email": "pending@example.com", "password": PASSWORD}
        )
        assert answer.status_code == 401

    async def test_a_deactivated_user_can_no_longer_log_in(self, world: World) -> None:
        victim = await world.register()
        deleted = await world.client.delete(f"/users/{victim.id}", headers=world.headers("admin"))
        assert deleted.status_code == 204
        answer = await world.client.post("/login", json={"email": victim.email, "password": PASSWORD})
        assert answer.status_code == 403
        assert answer.json()["code"] == "AccountDeactivated"


class TestCurrentUser:
    async def test_me_answers_the_seed_shape(self, world: World) -> None:
        me = await world.client.get("/me", headers=world.headers("customer"))
        assert me.json() == {
            "id": world.people["customer"].id,
            "name": "Carla Customer",
            "email": world.people["customer"].email,
            "profileImage": None,
            "language": "en",
            "role": {"name": "Customer"},
        }

    async def test_a_deactivated_users_token_opens_nothing_here_any_more(self, world: World) -> None:
        victim = await world.register()
        await world.client.delete(f"/users/{victim.id}", headers=world.headers("admin"))
        me = await world.client.get("/me", headers=bearer(victim.token))
        assert me.status_code == 401
        assert me.json()["code"] == "AccountUnavailable"

    async def test_a_token_with_a_forged_role_is_refused(self, world: World) -> None:
        header, payload, signature = world.people["customer"].token.split(".")
        claims = json.loads(jwt.utils.base64url_decode(payload))
        claims["permissions"] = ["read:user", "write:user"]
        forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
        answer = await world.client.get("/users", headers=bearer(f"{header}.{forged}.{signature}"))
        assert answer.status_code == 401


class TestValidate:
    async def test_validate_reads_the_permissions_the_user_holds_now(self, world: World) -> None:
        customer = world.people["customer"]
        changed = await world.client.put(
            f"/users/{customer.id}",
            json={"roleId": world.role_ids["Support"]},
            headers=world.headers("admin"),
        )
        assert changed.status_code == 200
        answer = await world.client.post("/validate", json={"token": customer.token})
        assert answer.status_code == 200
        assert answer.json() == {
            "valid": True,
            "user": {
                "id": customer.id,
                "email": customer.email,
                "name": "Carla Customer",
                "profileImage": None,
                "role": "Support",
                "permissions": ["read:order", "read:user"],
            },
        }

    async def test_validate_refuses_an_inactive_user_with_valid_false(self, world: World) -> None:
        victim = await world.register()
        await world.client.delete(f"/users/{victim.id}", headers=world.headers("admin"))
        answer = await world.client.post("/validate", json={"token": victim.token})
        assert answer.status_code == 401
        assert answer.json()["valid"] is False
        assert answer.json()["message"] == "User no longer exists or is inactive"

    async def test_validate_refuses_a_forged_token_with_valid_false(self, world: World) -> None:
        answer = await world.client.post("/validate", json={"token": world.people["customer"].token + "x"})
        assert answer.status_code == 401
        assert answer.json() == {
            "valid": False,
            "message": "Invalid or expired token",
            "code": "InvalidToken",
        }


class TestInvitations:
    async def test_an_invitation_is_completed_once_and_activates_the_account(self, world: World) -> None:
        user_id, invitation = await world.invite("Auditor", email="audrey@example.com")
        completed = await world.client.post(
            "/complete-invitation", json={"token": invitation, "password": PASSWORD}
        )
        assert completed.status_code == 200
        assert claims_of(completed.json()["token"])["role"] == "Auditor"
        again = await world.client.post(
            "/complete-invitation", json={"token": invitation, "password": PASSWORD}
        )
        assert again.status_code == 404
        assert again.json()["code"] == "InvitationNotFound"
        user = await world.client.get(f"/users/{user_id}", headers=world.headers("admin"))
        assert user.json()["isActive"] is True

    async def test_invitation_tokens_are_stored_hashed_and_never_published(self, world: World) -> None:
        user_id, invitation = await world.invite("Support")
        [row] = await world.rows("users", f"WHERE id = '{user_id}'")
        assert row["invitation_token_hash"] == hashlib.sha256(invitation.encode()).hexdigest()
        await world.client.post("/complete-invitation", json={"token": invitation, "password": PASSWORD})
        outbox = await world.rows("outbox")
        assert all(invitation not in json.dumps(row["body"], default=str) for row in outbox)
        invited = [row for row in outbox if row["key"] == user_id]
        types = [
            (r["body"] if isinstance(r["body"], dict) else json.loads(r["body"]))["event"]["type"]
            for r in invited
        ]
        assert types == ["USER_INVITED", "USER_UPDATED"]

    async def test_an_expired_invitation_is_gone_and_so_is_the_invitee(self, world: World) -> None:
        user_id, invitation = await world.invite("Support")
        past = datetime.now(UTC) - timedelta(minutes=1)
        async with world.engine.begin() as connection:
            await connection.execute(
                sa.text("UPDATE users SET invitation_expires = :past WHERE id = :id"),
                {"past": past, "id": user_id},
            )
        answer = await world.client.post(
            "/complete-invitation", json={"token": invitation, "password": PASSWORD}
        )
        assert answer.status_code == 410
        assert answer.json()["message"] == "Invitation has expired. Please ask for a new one."
        assert await world.rows("users", f"WHERE id = '{user_id}'") == []


class TestLanguage:
    """A user's language (their mails'): the register body's, else its Accept-Language, else English;
    changed through their profile; carried in USER_CREATED's workflow input and USER_UPDATED.
    """

    async def language_of(self, world: World, body: dict[str, str], **headers: str) -> str:
        email = f"{body.get('language', 'none')}-{len(headers)}@example.com"
        answer = await world.client.post(
            "/register", json={"name": "Lin", "email": email, "password": PASSWORD, **body}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        me = await world.client.get("/me", headers=bearer(answer.json()["token"]))
        [start] = await world.rows("outbox", f"WHERE key = 'register-user-{me.json()['id']}'")
        body_of = start["body"] if isinstance(start["body"], dict) else json.loads(start["body"])
        assert body_of["args"][0]["language"] == me.json()["language"]
        return str(me.json()["language"])

    async def test_registration_takes_the_bodys_language_else_the_requests_else_english(
        self, world: World
    ) -> None:
        assert await self.language_of(world, {"language": "ar"}, **{"Accept-Language": "fr"}) == "ar"
        assert await self.language_of(world, {}, **{"Accept-Language": "de-DE,fr;q=0.8"}) == "fr"
        assert await self.language_of(world, {}) == "en"

    async def test_an_unsupported_language_is_a_400_naming_it(self, world: World) -> None:
        body = {"name": "Lin", "email": "lin@example.com", "password": PASSWORD, "language": "de"}
        refused = await world.client.post("/register", json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["details"][0]["field"] == "language"
        customer = world.people["customer"]
        path = f"/users/{customer.id}"
        wrong = await world.client.put(path, json={"language": "xx"}, headers=bearer(customer.token))
        assert (wrong.status_code, wrong.json()["details"][0]["field"]) == (400, "language")

    async def test_a_user_changes_their_language_and_user_updated_carries_it(self, world: World) -> None:
        customer = world.people["customer"]
        path = f"/users/{customer.id}"
        changed = await world.client.put(path, json={"language": "fr"}, headers=bearer(customer.token))
        assert (changed.status_code, changed.json()["language"]) == (200, "fr")
        rows = await world.rows("outbox", f"WHERE key = '{customer.id}' AND kind = 'event' ORDER BY seq")
        last = rows[-1]["body"] if isinstance(rows[-1]["body"], dict) else json.loads(rows[-1]["body"])
        assert (last["event"]["type"], last["event"]["payload"]["language"]) == ("USER_UPDATED", "fr")
