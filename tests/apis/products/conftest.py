"""The products service under test: its app on embedded adapters, and callers holding genuine access tokens
(signed here with a test key that the app's verifier trusts, exactly as it would trust the auth service's).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.auth import seed
from apis.products.app import create_app
from contracts.scopes import SERVICE_SCOPES
from kit import db
from kit.auth.services import SERVICE_ROLE
from kit.auth.tokens import SERVICE_AUDIENCE, USER_AUDIENCE, TokenVerifier
from kit.settings import Settings
from tests.support import BOTH_DATABASES, asgi_client, on_database

# The seed's roles, by the caller names the tests use ("admin", "supervisor", "customer", ...).
ROLES: dict[str, tuple[str, Sequence[str]]] = {
    name.lower(): (name, permissions) for name, (_description, permissions) in seed.ROLES.items()
}
_serial = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}"


class Tokens:
    """Signs access tokens for the seed's roles and service tokens, with a key the app is told to trust."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.key = Ed25519PrivateKey.generate()

    async def jwks(self) -> Mapping[str, Any]:
        public = OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": "test", "alg": "EdDSA", "use": "sig"}]}

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self.jwks, issuer=self.issuer)

    def sign(
        self, sub: str, role: str, permissions: Sequence[str], email: str = "", scopes: Sequence[str] = ()
    ) -> str:
        now = int(time.time())
        service = role == SERVICE_ROLE
        claims = {
            "sub": sub,
            "aud": SERVICE_AUDIENCE if service else USER_AUDIENCE,
            "scopes": list(scopes),
            "email": email,
            "name": sub,
            "role": role,
            "permissions": list(permissions),
            "iss": self.issuer,
            "iat": now,
            "exp": now + 900,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": "test"})

    def for_caller(self, caller: str) -> str:
        """`service:<identity>` is that identity with its scopes; `service` holds every scope there is."""
        if caller.startswith("service"):
            identity = caller.removeprefix("service").removeprefix(":") or "tests"
            granted = SERVICE_SCOPES.get(identity, frozenset().union(*SERVICE_SCOPES.values()))
            return self.sign(f"service:{identity}", SERVICE_ROLE, [], scopes=sorted(granted))
        role, permissions = ROLES[caller]
        user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, caller))  # one user per caller name, in every token
        return self.sign(user_id, role, permissions, email=f"{caller}@example.com")

    def headers(self, caller: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.for_caller(caller)}"} if caller else {}


# Runs a module (`pytestmark`) or a test on a fresh SQLite file and on a scratch PostgreSQL database.
ON_BOTH_DATABASES = pytest.mark.parametrize("products_settings", BOTH_DATABASES, indirect=True)


@pytest.fixture
async def products_settings(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Settings]:
    """The embedded settings, or (`pytestmark = ON_BOTH_DATABASES`) them on a fresh database of each kind."""
    async with on_database(settings, getattr(request, "param", None), "products") as on_it:
        yield on_it


@pytest.fixture
def tokens(products_settings: Settings) -> Tokens:
    return Tokens(products_settings.jwt_issuer)


@pytest.fixture
def app(products_settings: Settings, tokens: Tokens) -> FastAPI:
    app = create_app(products_settings)
    app.state.token_verifier = tokens.verifier()
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


@pytest.fixture
async def engine(products_settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[AsyncEngine]:
    """A second connection to the service's database (once the app migrated it), to look inside."""
    engine = db.open_engine(products_settings.for_service("products").service_database_url)
    yield engine
    await engine.dispose()


@dataclass
class Shop:
    """The API as callers use it: `shop.call("POST", "/", as_="admin", json=...)`, and catalog builders."""

    client: httpx.AsyncClient
    tokens: Tokens

    async def call(
        self, method: str, path: str, *, as_: str | None = "admin", **options: Any
    ) -> httpx.Response:
        headers = {**self.tokens.headers(as_), **options.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **options)

    async def category(self, slug: str | None = None, *, parent: str | None = None, **fields: Any) -> Any:
        slug = slug or unique("category-")
        body = {"name": {"en": slug.title(), "fr": f"{slug} (fr)", "ar": f"{slug} (ar)"}, "slug": slug}
        response = await self.call("POST", "/categories", json=body | {"parentId": parent} | fields)
        assert response.status_code == 201, response.text
        return response.json()

    async def product(self, *, categories: Sequence[str] = (), stock: int = 10, **fields: Any) -> Any:
        body = {
            "sku": unique("SKU-"),
            "name": {"en": "Desk Lamp", "fr": "Lampe de bureau", "ar": "مصباح مكتب"},
            "description": {"en": "A lamp.", "fr": "Une lampe."},
            "variants": [{"attributes": {"Color": "Black"}, "price": "19.99", "initialStockQuantity": stock}],
            "categoryIds": list(categories),
            "images": [{"imageUrl": "https://img.example/lamp.jpg", "isPrimary": True}],
        }
        response = await self.call("POST", "/", json=body | fields)
        assert response.status_code == 201, response.text
        return response.json()

    async def adjust(
        self, variant_id: str, change: int, *, as_: str = "admin", **fields: Any
    ) -> httpx.Response:
        body = {"changeQuantity": change, "type": "ADJUSTMENT"} | fields
        return await self.call("POST", f"/stock/adjust/{variant_id}", as_=as_, json=body)


@pytest.fixture
def shop(client: httpx.AsyncClient, tokens: Tokens) -> Shop:
    return Shop(client, tokens)
