"""Who is calling: access tokens verified locally in every service and the gateway, and service credentials.

The auth service signs short-lived EdDSA (Ed25519) tokens and publishes its public keys as a JWKS document.
`TokenVerifier` fetches that document once through discovery, caches it, and fetches again only when a token
names an unknown key (a rotation) or the cache is old: no call to the auth service per request. Only EdDSA is
accepted, so a token signed with HS256 (the public key used as an HMAC secret) or `alg: none` never passes.

Routes declare their callers with `CurrentUser`, `OptionalUser`, `require_permission("create:product")` or
`ServiceCaller`; workers call internal routes with
`infra.client("products", token=service_tokens(infra, "orders"))`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from kit.clients import ServiceClient
from kit.discovery import Registry
from kit.errors import AppError, Forbidden, Unauthorized, Unavailable
from kit.infra import Infra
from kit.settings import Settings

ALGORITHM = "EdDSA"
JWKS_PATH = "/.well-known/jwks.json"
SERVICE_TOKEN_PATH = "/internal/service-token"
SERVICE_ROLE = "service"
SERVICE_SUBJECT_PREFIX = "service:"

log = logging.getLogger(__name__)

JwksSource = Callable[[], Awaitable[Mapping[str, Any]]]


class InsecureConfiguration(RuntimeError):
    """A secret was left to its development default where that is not allowed: the process must not start."""


class InvalidToken(Unauthorized):
    default_code = "InvalidToken"

    def __init__(self, message: str = "Invalid or expired token", *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class MissingToken(Unauthorized):
    default_code = "MissingToken"

    def __init__(self) -> None:
        super().__init__("Authorization header missing or invalid", headers={"WWW-Authenticate": "Bearer"})


class MissingPermission(Forbidden):
    default_code = "MissingPermission"

    def __init__(self, *permissions: str) -> None:
        super().__init__(
            "Forbidden: You do not have the required permission to perform this action.",
            details=[{"permission": name} for name in permissions],
        )


@dataclass(frozen=True)
class Principal:
    """The verified caller: a user (`id` is the user id) or a service (`role == "service"`)."""

    id: str
    email: str
    name: str
    role: str
    permissions: frozenset[str]

    @property
    def is_service(self) -> bool:
        return self.role == SERVICE_ROLE and self.id.startswith(SERVICE_SUBJECT_PREFIX)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Read the claims the auth service signs; a token lacking one is invalid, whatever its signature."""
        permissions = claims.get("permissions")
        fields = [claims.get(name) for name in ("sub", "email", "name", "role")]
        if not all(isinstance(value, str) for value in fields) or not isinstance(permissions, list):
            raise InvalidToken()
        if not all(isinstance(name, str) for name in permissions):
            raise InvalidToken()
        sub, email, name, role = (str(value) for value in fields)
        return cls(id=sub, email=email, name=name, role=role, permissions=frozenset(permissions))


class TokenVerifier:
    """Verifies access tokens against cached public keys; refreshes them on an unknown `kid` or when stale."""

    def __init__(
        self,
        jwks: JwksSource,
        *,
        issuer: str,
        max_age: float = 3600.0,
        min_refresh_interval: float = 10.0,
        leeway: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._max_age = max_age
        self._min_refresh_interval = min_refresh_interval
        self._leeway = leeway
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._checked_at: float | None = None
        self._fetches = 0  # fetches tried: a request that waited for one in progress does not repeat it
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Principal:
        """The caller the token names; raise InvalidToken (401) unless it is genuine, current and ours."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise InvalidToken()
        key = await self._key(kid)
        if key is None:
            raise InvalidToken()
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("Token expired", code="TokenExpired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        return Principal.from_claims(claims)

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        now = self._clock()
        due = self._checked_at is None or now - self._checked_at >= self._min_refresh_interval
        stale = self._fetched_at is None or now - self._fetched_at > self._max_age
        if self._fetched_at is None or (due and (stale or kid not in self._keys)):
            fetches = self._fetches
            async with self._lock:  # concurrent requests share one fetch, the very first ones included
                if self._fetches == fetches and due:
                    await self._refresh()
        if self._fetched_at is None:
            raise Unavailable("Authentication keys unavailable", code="AuthUnavailable")
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        self._checked_at = self._clock()
        self._fetches += 1
        try:
            document = await self._jwks()
        except AppError as exc:
            log.warning("could not fetch the token keys", extra={"error": repr(exc)})
            if self._fetched_at is None:
                raise Unavailable("Authentication keys unavailable", code="AuthUnavailable") from exc
            return  # keep verifying with the keys we hold; try again after min_refresh_interval
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            with contextlib.suppress(jwt.PyJWTError, TypeError, ValueError, AttributeError):
                key = jwt.PyJWK(entry)
                if key.algorithm_name == ALGORITHM and isinstance(entry.get("kid"), str):
                    keys[entry["kid"]] = key
        self._keys, self._fetched_at = keys, self._clock()


def remote_jwks(registry: Registry, *, timeout: float = 10.0) -> JwksSource:
    """The auth service's published keys, fetched through discovery."""

    async def fetch() -> Mapping[str, Any]:
        async with ServiceClient(registry, "auth", timeout=timeout) as client:
            document = await client.get(JWKS_PATH)
        if not isinstance(document, dict):
            raise Unavailable("The auth service sent no JWKS document", code="AuthUnavailable")
        return document

    return fetch


def token_verifier(request: Request) -> TokenVerifier:
    """This app's verifier: `app.state.token_verifier` when set (the auth service, tests), else one that
    reads the auth service's JWKS, built on first use.
    """
    state = request.app.state
    verifier: TokenVerifier | None = getattr(state, "token_verifier", None)
    if verifier is None:
        infra: Infra = request.state.infra
        settings = infra.settings
        verifier = TokenVerifier(
            remote_jwks(infra.registry, timeout=settings.service_call_timeout), issuer=settings.jwt_issuer
        )
        state.token_verifier = verifier
    return verifier


_bearer = HTTPBearer(auto_error=False, description="An access token from `POST /auth/login`.")


async def optional_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal | None:
    """The caller, or None when no Authorization header came; a bad token is a 401, never anonymous."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise MissingToken()
        return None
    return await token_verifier(request).verify(credentials.credentials)


async def current_user(user: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    """The caller; 401 when the request carries no valid access token."""
    if user is None:
        raise MissingToken()
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]


def require_permission(*permissions: str) -> Any:
    """A dependency admitting callers holding every one of `permissions` (403 otherwise), used as
    `_: Annotated[Principal, require_permission("create:product")]` or in `dependencies=[...]`.
    """

    async def check(user: CurrentUser) -> Principal:
        missing = [name for name in permissions if not user.can(name)]
        if missing:
            raise MissingPermission(*missing)
        return user

    return Depends(check)


async def require_service(user: CurrentUser) -> Principal:
    """Internal routes: only other services, never a human user, whatever their role."""
    if not user.is_service:
        raise Forbidden("Forbidden: service credentials required.", code="ServiceCredentialsRequired")
    return user


ServiceCaller = Annotated[Principal, Depends(require_service)]


class ServiceTokens:
    """A `TokenSource` for `ServiceClient`: trades the shared service secret for a short-lived service token
    at the auth service and reuses it until most of its lifetime has passed.
    """

    def __init__(
        self,
        registry: Registry,
        service_id: str,
        secret: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._service_id = service_id
        self._secret = secret
        self._timeout = timeout
        self._transport = transport
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._token, lifetime = await self._fetch()
                self._renew_at = self._clock() + lifetime * 0.8
            return self._token

    async def _fetch(self) -> tuple[str, float]:
        async with ServiceClient(
            self._registry, "auth", timeout=self._timeout, transport=self._transport
        ) as client:
            body = await client.post(
                SERVICE_TOKEN_PATH, json={"serviceId": self._service_id, "secret": self._secret}
            )
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            raise Unavailable("The auth service sent no service token", code="AuthUnavailable")
        return body["token"], float(body.get("expiresIn", 60))


def service_tokens(infra: Infra, service_id: str) -> ServiceTokens:
    """Service credentials for this process's calls to internal routes (a worker's activities)."""
    settings = infra.settings
    return ServiceTokens(
        infra.registry, service_id, service_secret(settings), timeout=settings.service_call_timeout
    )


def service_secret(settings: Settings) -> str:
    """The shared secret services trade for service tokens (`COMMERCE_SERVICE_SECRET`)."""
    return provisioned_secret(
        settings,
        settings.service_secret,
        variable="COMMERCE_SERVICE_SECRET",
        filename="service-secret",
        generate=lambda: secrets.token_urlsafe(32).encode(),
    ).decode()


def provisioned_secret(
    settings: Settings,
    configured: SecretStr | None,
    *,
    variable: str,
    filename: str,
    generate: Callable[[], bytes],
) -> bytes:
    """The configured secret; outside production, one generated on first use and kept under `data_dir`
    (so that tokens survive restarts and every process of a machine agrees); in production, refuse.
    """
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    if settings.environment == "production":
        raise InsecureConfiguration(f"{variable} must be set in production (refusing a generated secret).")
    path = settings.data_dir / filename
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write aside then link into place: a concurrent process either wins the link or reads the winner's file.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{filename}.", delete=False) as draft:
        draft.write(generate())
    try:
        os.chmod(draft.name, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(draft.name, path)
    finally:
        os.unlink(draft.name)
    return path.read_bytes()
