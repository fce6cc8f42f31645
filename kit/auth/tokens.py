"""Access tokens, verified locally in every service and the gateway: no call to the auth service per request.

The auth service signs short-lived EdDSA (Ed25519) tokens and publishes its public keys as a JWKS document.
`TokenVerifier` fetches that document once through discovery, caches it, and fetches again only when a token
names an unknown key (a rotation) or the cache is old. Only EdDSA is accepted, so a token signed with HS256
(the public key used as an HMAC secret) or `alg: none` never passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jwt
from fastapi import Request

from kit.auth.principal import Principal
from kit.clients import ServiceClient
from kit.discovery import Registry
from kit.errors import AppError, Unauthorized, Unavailable
from kit.infra import Infra

ALGORITHM = "EdDSA"
JWKS_PATH = "/.well-known/jwks.json"
# Who a token is for: users' tokens open the public API, service tokens the internal routes only.
USER_AUDIENCE = "commerce"
SERVICE_AUDIENCE = "commerce-internal"

log = logging.getLogger(__name__)

JwksSource = Callable[[], Awaitable[Mapping[str, Any]]]


class InvalidToken(Unauthorized):
    default_code = "InvalidToken"

    def __init__(self, message: str = "Invalid or expired token", *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def principal_from(claims: Mapping[str, Any]) -> Principal:
    """Read the claims the auth service signs; a token lacking one is invalid, whatever its signature, and a
    service is one only with the service audience (a user's token never carries scopes).
    """
    permissions, scopes = claims.get("permissions"), claims.get("scopes", [])
    fields = [claims.get(name) for name in ("sub", "email", "name", "role")]
    if not all(isinstance(value, str) for value in fields):
        raise InvalidToken()
    if not _strings(permissions) or not _strings(scopes):
        raise InvalidToken()
    sub, email, name, role = (str(value) for value in fields)
    principal = Principal(
        id=sub,
        email=email,
        name=name,
        role=role,
        permissions=frozenset(permissions or []),
        scopes=frozenset(scopes or []),
    )
    if principal.is_service != (claims.get("aud") == SERVICE_AUDIENCE):
        raise InvalidToken()
    return principal


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


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
                audience=[USER_AUDIENCE, SERVICE_AUDIENCE],
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("Token expired", code="TokenExpired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        return principal_from(claims)

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        if self._wants_fetch(kid):
            fetches = self._fetches
            async with self._lock:  # concurrent requests share one fetch, the very first ones included
                # another request fetched while we waited: use its keys, unless it got none (a failed or
                # cancelled first fetch must not leave the requests behind it without keys)
                if (self._fetches == fetches or self._fetched_at is None) and self._wants_fetch(kid):
                    await self._refresh()
        if self._fetched_at is None:
            raise Unavailable("Authentication keys unavailable", code="AuthUnavailable")
        return self._keys.get(kid)

    def _wants_fetch(self, kid: str) -> bool:
        """Holding no keys, always; else on an unknown `kid` or old keys, once per min_refresh_interval."""
        if self._fetched_at is None:
            return True
        now = self._clock()
        due = self._checked_at is None or now - self._checked_at >= self._min_refresh_interval
        return due and (kid not in self._keys or now - self._fetched_at > self._max_age)

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
