"""Service credentials: a service trades its own identity's secret for a short-lived service token at the
auth service (carrying that identity's scopes), and calls other services' internal routes with it:
`infra.client("products", token=service_tokens(infra, "orders"))`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from kit.auth.secrets import service_credential
from kit.clients import ServiceClient
from kit.discovery import Registry
from kit.errors import Unavailable
from kit.infra import Infra

SERVICE_TOKEN_PATH = "/internal/service-token"
SERVICE_ROLE = "service"
SERVICE_SUBJECT_PREFIX = "service:"


class ServiceTokens:
    """A `TokenSource` for `ServiceClient`: trades the identity's secret for a short-lived service token
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
        infra.registry,
        service_id,
        service_credential(settings, service_id),
        timeout=settings.service_call_timeout,
    )
