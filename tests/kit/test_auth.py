"""The `kit.auth` rooms: local token verification (genuine tokens pass, every forgery is a 401, keys are
fetched once), the route dependencies answer JSON 401/403, service credentials are fetched and renewed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import stat
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, FastAPI
from jwt.algorithms import OKPAlgorithm
from pydantic import SecretStr

from apis.auth.app import create_app as create_auth_app
from kit.auth.callers import CurrentUser, OptionalUser, require_permission, require_scope
from kit.auth.principal import Principal
from kit.auth.secrets import InsecureConfiguration, provisioned_secret
from kit.auth.services import ServiceTokens
from kit.auth.tokens import SERVICE_AUDIENCE, USER_AUDIENCE, TokenVerifier
from kit.discovery.static import StaticRegistry
from kit.errors import Unauthorized, Unavailable
from kit.settings import Settings
from kit.web import create_service
from tests.support import asgi_client, embedded_settings, free_port, served

ISSUER = "commerce-auth"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Keys:
    """A JWKS source that counts its fetches and can be taken down."""

    def __init__(self, *keys: tuple[str, Ed25519PrivateKey]) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down = False

    async def __call__(self) -> Mapping[str, Any]:
        self.fetches += 1
        if self.down:
            raise Unavailable("auth is down")
        return {
            "keys": [
                {
                    **OKPAlgorithm.to_jwk(key.public_key(), as_dict=True),
                    "kid": kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }
                for kid, key in self.keys
            ]
        }


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "sub": "user-1",
        "email": "ada@example.com",
        "name": "Ada",
        "role": "Customer",
        "permissions": ["create:order"],
        "aud": USER_AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + 900,
    }
    return {name: value for name, value in (values | overrides).items() if value is not None}


def sign(key: Ed25519PrivateKey, kid: str = "k1", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="EdDSA", headers={"kid": kid})


def service_token(key: Ed25519PrivateKey, name: str, *scopes: str) -> str:
    """A token as auth mints it for the service `name`, holding `scopes`."""
    return sign(
        key,
        sub=f"service:{name}",
        name=name,
        role="service",
        permissions=[],
        aud=SERVICE_AUDIENCE,
        scopes=list(scopes),
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def keys(key: Ed25519PrivateKey) -> Keys:
    return Keys(("k1", key))


@pytest.fixture
def verifier(keys: Keys) -> TokenVerifier:
    return TokenVerifier(keys, issuer=ISSUER)


async def rejected(verifier: TokenVerifier, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        await verifier.verify(token)
    return caught.value


class TestVerification:
    async def test_a_genuine_token_names_its_caller(
        self, verifier: TokenVerifier, key: Ed25519PrivateKey
    ) -> None:
        principal = await verifier.verify(sign(key))
        assert principal == Principal(
            "user-1", "ada@example.com", "Ada", "Customer", frozenset({"create:order"})
        )
        assert not principal.is_service

    async def test_a_tampered_payload_is_rejected(
        self, verifier: TokenVerifier, key: Ed25519PrivateKey
    ) -> None:
        header, _, signature = sign(key).split(".")
        forged = b64(json.dumps(claims(role="ADMIN", permissions=["write:user"])).encode())
        assert (await rejected(verifier, f"{header}.{forged}.{signature}")).code == "InvalidToken"

    async def test_a_tampered_signature_is_rejected(
        self, verifier: TokenVerifier, key: Ed25519PrivateKey
    ) -> None:
        token = sign(key)
        flipped = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        await rejected(verifier, flipped)

    async def test_an_expired_token_is_rejected_as_expired(
        self, verifier: TokenVerifier, key: Ed25519PrivateKey
    ) -> None:
        past = int(time.time()) - 3600
        error = await rejected(verifier, sign(key, iat=past, exp=past + 900))
        assert error.code == "TokenExpired"
        assert error.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}

    async def test_a_token_signed_by_another_key_under_our_kid_is_rejected(
        self, verifier: TokenVerifier
    ) -> None:
        await rejected(verifier, sign(Ed25519PrivateKey.generate(), kid="k1"))

    async def test_a_token_from_another_issuer_is_rejected(
        self, verifier: TokenVerifier, key: Ed25519PrivateKey
    ) -> None:
        await rejected(verifier, sign(key, iss="someone-else"))

    @pytest.mark.parametrize("missing", ["exp", "sub", "permissions", "role", "iss"])
    async def test_a_token_lacking_a_claim_is_rejected(
        self, verifier: TokenVerifier, key: Ed25519PrivateKey, missing: str
    ) -> None:
        token = jwt.encode(claims(**{missing: None}), key, algorithm="EdDSA", headers={"kid": "k1"})
        await rejected(verifier, token)

    async def test_alg_none_is_rejected(self, verifier: TokenVerifier) -> None:
        await rejected(verifier, unsigned({"alg": "none", "kid": "k1"}, claims()) + ".")

    async def test_hs256_keyed_with_the_public_key_is_rejected(
        self, verifier: TokenVerifier, key: Ed25519PrivateKey
    ) -> None:
        """The classic confusion: the attacker signs HS256 with the published public key as the secret."""
        public = key.public_key()
        for secret in (
            public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
            OKPAlgorithm.to_jwk(public, as_dict=True)["x"].encode(),
        ):
            body = unsigned({"alg": "HS256", "kid": "k1", "typ": "JWT"}, claims(role="ADMIN"))
            signature = b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
            await rejected(verifier, f"{body}.{signature}")

    async def test_an_rs256_token_is_rejected(self, verifier: TokenVerifier) -> None:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        await rejected(verifier, jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "k1"}))

    @pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "e30.e30.e30"])
    async def test_garbage_is_rejected(self, verifier: TokenVerifier, token: str) -> None:
        await rejected(verifier, token)


class TestKeyCache:
    async def test_keys_are_fetched_once_for_many_verifications(
        self, verifier: TokenVerifier, keys: Keys, key: Ed25519PrivateKey
    ) -> None:
        for _ in range(20):
            await verifier.verify(sign(key))
        assert keys.fetches == 1

    async def test_requests_arriving_during_the_first_fetch_wait_for_it(self, key: Ed25519PrivateKey) -> None:
        class SlowKeys(Keys):
            async def __call__(self) -> Mapping[str, Any]:
                await asyncio.sleep(0.05)
                return await super().__call__()

        keys = SlowKeys(("k1", key))
        verifier = TokenVerifier(keys, issuer=ISSUER)
        callers = await asyncio.gather(*(verifier.verify(sign(key)) for _ in range(10)))
        assert {caller.id for caller in callers} == {"user-1"}
        assert keys.fetches == 1

    async def test_a_rotated_key_is_fetched_when_a_token_names_it(self, key: Ed25519PrivateKey) -> None:
        keys, clock = Keys(("k1", key)), Clock()
        verifier = TokenVerifier(keys, issuer=ISSUER, clock=clock)
        await verifier.verify(sign(key))
        new_key = Ed25519PrivateKey.generate()
        keys.keys.append(("k2", new_key))
        clock.now += 11
        assert (await verifier.verify(sign(new_key, kid="k2"))).id == "user-1"
        assert keys.fetches == 2

    async def test_tokens_naming_unknown_keys_do_not_hammer_the_auth_service(
        self, key: Ed25519PrivateKey
    ) -> None:
        keys, clock = Keys(("k1", key)), Clock()
        verifier = TokenVerifier(keys, issuer=ISSUER, min_refresh_interval=10, clock=clock)
        await verifier.verify(sign(key))
        clock.now += 60
        for n in range(10):
            await rejected(verifier, sign(key, kid=f"unknown-{n}"))
        assert keys.fetches == 2  # one look for the first unknown kid, then none for ten seconds

    async def test_an_unreachable_auth_service_is_a_503_before_any_key_is_known(
        self, keys: Keys, key: Ed25519PrivateKey
    ) -> None:
        keys.down = True
        with pytest.raises(Unavailable):
            await TokenVerifier(keys, issuer=ISSUER).verify(sign(key))

    async def test_known_keys_keep_working_while_the_auth_service_is_down(
        self, key: Ed25519PrivateKey
    ) -> None:
        keys, clock = Keys(("k1", key)), Clock()
        verifier = TokenVerifier(keys, issuer=ISSUER, max_age=60, clock=clock)
        await verifier.verify(sign(key))
        keys.down, clock.now = True, clock.now + 3600
        assert (await verifier.verify(sign(key))).name == "Ada"


def _app(settings: Settings, verifier: TokenVerifier) -> FastAPI:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(user: OptionalUser) -> dict[str, str]:
        return {"name": user.name if user else "anonymous"}

    @router.get("/mine")
    async def mine(user: CurrentUser) -> dict[str, str]:
        return {"id": user.id}

    @router.post("/products", dependencies=[require_permission("create:product")])
    async def create_product() -> dict[str, bool]:
        return {"created": True}

    @router.post("/internal/sync")
    async def sync(caller: Annotated[Principal, require_scope("search:write-index")]) -> dict[str, str]:
        return {"caller": caller.name}

    app = create_service(settings.for_service("products"), title="products", routers=[router])
    app.state.token_verifier = verifier
    return app


@pytest.fixture
async def client(settings: Settings, verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(_app(settings, verifier)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestDependencies:
    async def test_a_missing_token_is_a_json_401_with_a_bearer_challenge(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/mine")
        assert response.status_code == 401
        assert response.json() == {
            "message": "Authorization header missing or invalid",
            "code": "MissingToken",
        }
        assert response.headers["WWW-Authenticate"] == "Bearer"

    async def test_another_scheme_is_a_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/whoami", headers={"Authorization": "Basic YWRhOnB3"})
        assert response.status_code == 401

    async def test_a_forged_token_is_a_401_even_where_anonymous_callers_are_welcome(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/whoami", headers=bearer(sign(Ed25519PrivateKey.generate())))
        assert response.status_code == 401
        assert response.json()["code"] == "InvalidToken"

    async def test_anonymous_and_identified_callers_reach_an_optional_route(
        self, client: httpx.AsyncClient, key: Ed25519PrivateKey
    ) -> None:
        assert (await client.get("/whoami")).json() == {"name": "anonymous"}
        assert (await client.get("/whoami", headers=bearer(sign(key)))).json() == {"name": "Ada"}

    async def test_a_missing_permission_is_a_json_403_naming_it(
        self, client: httpx.AsyncClient, key: Ed25519PrivateKey
    ) -> None:
        response = await client.post("/products", headers=bearer(sign(key)))
        assert response.status_code == 403
        assert response.json()["code"] == "MissingPermission"
        assert response.json()["details"] == [{"permission": "create:product"}]

    async def test_a_held_permission_opens_the_route(
        self, client: httpx.AsyncClient, key: Ed25519PrivateKey
    ) -> None:
        token = sign(key, permissions=["create:product"])
        assert (await client.post("/products", headers=bearer(token))).status_code == 200

    async def test_internal_routes_admit_services_and_no_user(
        self, client: httpx.AsyncClient, key: Ed25519PrivateKey
    ) -> None:
        admin = sign(key, role="ADMIN", permissions=["write:user"])
        assert (await client.post("/internal/sync", headers=bearer(admin))).status_code == 403
        service = service_token(key, "catalog", "search:write-index")
        response = await client.post("/internal/sync", headers=bearer(service))
        assert response.json() == {"caller": "catalog"}

    async def test_an_internal_route_refuses_a_service_without_its_scope(
        self, client: httpx.AsyncClient, key: Ed25519PrivateKey
    ) -> None:
        products = service_token(key, "products", "x")
        response = await client.post("/internal/sync", headers=bearer(products))
        assert response.status_code == 403
        assert response.json()["code"] == "MissingScope"
        assert response.json()["details"] == [{"scope": "search:write-index"}]

    async def test_a_user_route_refuses_a_service_token(
        self, client: httpx.AsyncClient, key: Ed25519PrivateKey
    ) -> None:
        orders = service_token(key, "orders", "carts:use-any")
        response = await client.get("/mine", headers=bearer(orders))
        assert response.status_code == 403
        assert response.json()["code"] == "UserRequired"

    @pytest.mark.parametrize(
        "claimed",
        [
            {"aud": None},  # no audience
            {"aud": "another-api"},  # signed by our key for someone else
            {
                "aud": USER_AUDIENCE,
                "sub": "service:catalog",
                "role": "service",
            },  # a service with a user's aud
            {"aud": SERVICE_AUDIENCE},  # a user with the services' audience
        ],
    )
    async def test_a_token_for_another_audience_is_refused(
        self, client: httpx.AsyncClient, key: Ed25519PrivateKey, claimed: dict[str, Any]
    ) -> None:
        response = await client.get("/mine", headers=bearer(sign(key, **claimed)))
        assert response.status_code == 401


async def test_another_service_verifies_tokens_of_the_real_auth_service_without_calling_it_each_time(
    tmp_path: Path,
) -> None:
    port = free_port()  # the auth service registers itself in discovery under its configured port
    auth_settings = embedded_settings(tmp_path / "auth", ports={"auth": port})
    async with served(create_auth_app(auth_settings), port) as auth_url:
        async with httpx.AsyncClient(base_url=auth_url) as auth:
            login = {"email": auth_settings.admin_email, "password": "commerce-admin"}
            token = (await auth.post("/login", json=login)).json()["token"]
        products_settings = embedded_settings(tmp_path / "products", ports={"auth": port})
        router = APIRouter()

        @router.post("/products", dependencies=[require_permission("create:product")])
        async def create_product() -> dict[str, bool]:
            return {"created": True}

        products = create_service(
            products_settings.for_service("products"), title="products", routers=[router]
        )
        async with asgi_client(products) as client:
            assert (await client.post("/products", headers=bearer(token))).status_code == 200
    async with asgi_client(products) as client:  # the auth service is gone: the cached key still verifies
        assert (await client.post("/products", headers=bearer(token))).status_code == 200
        assert (await client.post("/products")).status_code == 401


class FirstFetchFails(Keys):
    """Auth's keys, except that the very first fetch fails (auth not yet found) or is cancelled (its client
    went away) after a while: the concurrent requests waiting behind it must not all answer 503.
    """

    def __init__(self, failure: BaseException, *keys: tuple[str, Ed25519PrivateKey]) -> None:
        super().__init__(*keys)
        self.failure = failure

    async def __call__(self) -> Mapping[str, Any]:
        if self.fetches == 0:
            self.fetches += 1
            await asyncio.sleep(0.05)
            raise self.failure
        return await super().__call__()


@pytest.mark.parametrize("failure", [Unavailable("auth not found yet"), asyncio.CancelledError()])
async def test_requests_waiting_behind_a_failed_first_fetch_fetch_again(
    key: Ed25519PrivateKey, failure: BaseException
) -> None:
    keys = FirstFetchFails(failure, ("k1", key))
    verifier = TokenVerifier(keys, issuer=ISSUER)
    answers = await asyncio.gather(*(verifier.verify(sign(key)) for _ in range(10)), return_exceptions=True)
    assert sum(isinstance(answer, Principal) for answer in answers) == 9  # the first one failed
    assert keys.fetches == 2  # one more fetch served the nine waiting


async def test_concurrent_first_requests_to_a_fresh_service_all_verify(tmp_path: Path) -> None:
    """Fuzzing found concurrent first requests answered 503 AuthUnavailable while the keys were loading."""
    port = free_port()
    auth_settings = embedded_settings(tmp_path / "auth", ports={"auth": port})
    async with served(create_auth_app(auth_settings), port) as auth_url:
        async with httpx.AsyncClient(base_url=auth_url) as auth:
            login = {"email": auth_settings.admin_email, "password": "commerce-admin"}
            token = (await auth.post("/login", json=login)).json()["token"]
        router = APIRouter()

        @router.get("/mine")
        async def mine(user: CurrentUser) -> dict[str, str]:
            return {"id": user.id}

        settings = embedded_settings(tmp_path / "products", ports={"auth": port})
        products = create_service(settings.for_service("products"), title="products", routers=[router])
        async with asgi_client(products) as client:
            answers = await asyncio.gather(*(client.get("/mine", headers=bearer(token)) for _ in range(30)))
    assert [answer.status_code for answer in answers] == [200] * 30, [a.text for a in answers if a.is_error]


class TestServiceTokens:
    @staticmethod
    def auth_service(issued: list[str], secret: str = "s3cret") -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            if request.url.path != "/internal/service-token" or body["secret"] != secret:
                return httpx.Response(401, json={"message": "Invalid service credentials", "code": "Nope"})
            issued.append(f"token-{len(issued) + 1}-for-{body['serviceId']}")
            return httpx.Response(200, json={"token": issued[-1], "tokenType": "Bearer", "expiresIn": 100})

        return httpx.MockTransport(handle)

    async def test_a_service_token_is_fetched_once_and_renewed_before_it_expires(self) -> None:
        issued: list[str] = []
        clock = Clock()
        tokens = ServiceTokens(
            StaticRegistry("static://?auth=http://auth.test"),
            "orders",
            "s3cret",
            transport=self.auth_service(issued),
            clock=clock,
        )
        assert [await tokens() for _ in range(3)] == ["token-1-for-orders"] * 3
        clock.now += 81
        assert await tokens() == "token-2-for-orders"

    async def test_a_wrong_secret_is_refused(self) -> None:
        tokens = ServiceTokens(
            StaticRegistry("static://?auth=http://auth.test"),
            "orders",
            "guess",
            transport=self.auth_service([]),
        )
        with pytest.raises(Unauthorized):
            await tokens()


class TestProvisionedSecrets:
    def test_outside_production_a_secret_is_generated_once_and_kept(self, tmp_path: Path) -> None:
        settings = embedded_settings(tmp_path)
        first = provisioned_secret(settings, None, variable="X", filename="x", generate=lambda: b"one")
        again = provisioned_secret(settings, None, variable="X", filename="x", generate=lambda: b"two")
        assert first == again == b"one"
        assert stat.S_IMODE((tmp_path / "x").stat().st_mode) == 0o600

    def test_a_configured_secret_wins(self, tmp_path: Path) -> None:
        settings = embedded_settings(tmp_path, environment="production")
        value = provisioned_secret(
            settings, SecretStr("set"), variable="X", filename="x", generate=lambda: b""
        )
        assert value == b"set"

    def test_production_refuses_to_generate_one(self, tmp_path: Path) -> None:
        settings = embedded_settings(tmp_path, environment="production")
        with pytest.raises(InsecureConfiguration, match="X must be set"):
            provisioned_secret(settings, None, variable="X", filename="x", generate=lambda: b"")
        assert not (tmp_path / "x").exists()
