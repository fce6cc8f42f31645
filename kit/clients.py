"""Calling another service: by name through discovery, with the request id forwarded, a timeout, and the
upstream's failures turned back into our own errors (404 -> NotFound, 409 -> Conflict, down -> Unavailable).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import httpx

from kit import tracing
from kit.discovery import Registry
from kit.errors import AppError, Unavailable, error_for_status
from kit.logs import current_request_id

TokenSource = Callable[[], Awaitable[str]]
# A connection dropped under a request: a keep-alive connection the server closed as it was reused. Every
# call between services is idempotent, so it is sent again once on a new connection.
DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
DROPPED_RETRIES = 1


class ServiceClient:
    """A JSON client of one service; `token` supplies service credentials for internal routes, `http` a
    connection pool shared with the process's other clients.
    """

    def __init__(
        self,
        registry: Registry,
        service: str,
        *,
        timeout: float = 10.0,
        token: TokenSource | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._registry = registry
        self._service = service
        self._token = token
        self._timeout = timeout
        self._owns_http = http is None  # a shared pool (`Infra.http`) is closed by its owner
        self._http = http or httpx.AsyncClient(timeout=timeout, transport=transport)
        if self._owns_http:
            tracing.instrument_httpx(self._http)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON body (None when empty) or raise an AppError."""
        outgoing = dict(headers or {})
        if request_id := current_request_id():
            outgoing.setdefault("X-Request-ID", request_id)
        if self._token is not None:
            outgoing.setdefault("Authorization", f"Bearer {await self._token()}")
        base = await self._registry.resolve(self._service)
        for attempt in range(1 + DROPPED_RETRIES):
            try:
                response = await self._http.request(
                    method, base + path, json=json, params=params, headers=outgoing
                )
                break
            except DROPPED as exc:  # a pooled connection the server had closed: once more, afresh
                if attempt < DROPPED_RETRIES:
                    continue
                raise Unavailable(
                    f"Service '{self._service}' is unreachable: {exc!r}", code="UpstreamUnavailable"
                ) from exc
            except httpx.TransportError as exc:  # refused, timed out: worth retrying later
                raise Unavailable(
                    f"Service '{self._service}' is unreachable: {exc!r}", code="UpstreamUnavailable"
                ) from exc
        body = _decode(response)
        if response.status_code >= 500 or response.status_code == 408:  # worth trying again
            raise Unavailable(
                f"Service '{self._service}' failed with {response.status_code}", code="UpstreamFailed"
            )
        if response.status_code >= 400:
            raise error_for_status(response.status_code, body)
        return body

    async def get(self, path: str, **options: Any) -> Any:
        return await self.request("GET", path, **options)

    async def post(self, path: str, **options: Any) -> Any:
        return await self.request("POST", path, **options)

    async def put(self, path: str, **options: Any) -> Any:
        return await self.request("PUT", path, **options)

    async def delete(self, path: str, **options: Any) -> Any:
        return await self.request("DELETE", path, **options)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if response.status_code >= 400:
            return {"message": response.text[:500]}
        raise AppError(f"expected JSON from {response.request.url}, got {response.text[:100]!r}") from None
