"""Forwarding one request to an upstream service: bodies streamed both ways, a timeout per route, a retry
of idempotent requests whose upstream refused the connection, and JSON 502/503/504 when the upstream
fails, is missing or is slow. An answer cut off midway aborts the client's connection.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from urllib.parse import unquote

import httpx
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from kit.auth.edge import IDENTITY_HEADER_PREFIX
from kit.discovery import Registry
from kit.errors import BadGateway, GatewayTimeout, Unavailable
from kit.logs import request_id_var

log = logging.getLogger(__name__)

# Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus the ones we rewrite.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"x-request-id",
        b"traceparent",
    }
)
# The gateway's own server writes these on every answer; the upstream's would make two of each.
OWN_RESPONSE_HEADERS = frozenset({b"date", b"server"})
REWRITTEN_PREFIXES = (b"x-forwarded-", IDENTITY_HEADER_PREFIX.encode())
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$")

Headers = list[tuple[bytes, bytes]]


def upstream_path(request: Request, prefix: str) -> str | None:
    """The raw path after the prefix, percent-encoding preserved, with the query string; None when the
    first segment is not the prefix once decoded (`/carts%2f` is not `/carts`).
    """
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    first, slash, rest = raw.decode("latin-1")[1:].partition("/")
    if unquote(first) != prefix:
        return None
    path = f"{slash}{rest}" or "/"
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def traceparent(incoming: str | None) -> str:
    """W3C trace context: the caller's trace continued (a new span, the gateway's), or a new trace."""
    match = _TRACEPARENT.match(incoming or "")
    trace = match.group(1) if match and match.group(1) != "0" * 32 else secrets.token_hex(16)
    flags = match.group(2) if match else "01"
    return f"00-{trace}-{secrets.token_hex(8)}-{flags}"


def forwarded_headers(request: Request, prefix: str, identity: Sequence[tuple[bytes, bytes]] = ()) -> Headers:
    """The client's headers as bytes (any byte passes), with X-Forwarded-* and identity headers replaced by
    what the gateway saw: `request.client` and the scheme are the ones kit.guards resolved.
    """
    headers = [
        (k, v) for k, v in request.headers.raw if k not in HOP_BY_HOP and not k.startswith(REWRITTEN_PREFIXES)
    ]
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")  # trusted proxy's
    headers += [
        (b"x-forwarded-for", (request.client.host if request.client else "").encode("latin-1")),
        (b"x-forwarded-proto", request.url.scheme.encode()),
        (b"x-forwarded-host", host.encode("latin-1")),
        (b"x-forwarded-prefix", f"/{prefix}".encode()),
        (b"x-request-id", (request_id_var.get() or "").encode()),
        (b"traceparent", traceparent(request.headers.get("traceparent")).encode()),
        *identity,
    ]
    return headers


class _Body:
    """The client's body, streamed once; knows whether it began, so that a retry never resends half."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self._chunks:
            yield chunk


async def forward(
    request: Request,
    client: httpx.AsyncClient,
    registry: Registry,
    service: str,
    target: str,
    *,
    prefix: str,
    seconds: float,
    retries: int,
    identity: Sequence[tuple[bytes, bytes]] = (),
) -> StreamingResponse:
    """Send `request` to `target` on `service`; stream its answer back unchanged (statuses pass through)."""
    headers = forwarded_headers(request, prefix, identity)
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    body = _Body(request.stream()) if has_body else None
    tries = 1 + (retries if request.method in IDEMPOTENT else 0)
    for attempt in range(1, tries + 1):
        base = await registry.resolve(service)  # ServiceNotFound is a 503
        outgoing = client.build_request(
            request.method,
            base + target,
            headers=headers,
            content=body,
            timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)),
        )
        try:
            upstream = await client.send(outgoing, stream=True)
            break
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if attempt == tries or (body is not None and body.started):
                raise Unavailable(f"Service '{service}' is unreachable.", code="UpstreamUnavailable") from exc
            log.info(
                "upstream refused, retrying", extra={"upstream": service, "url": base, "error": repr(exc)}
            )
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(f"Service '{service}' did not answer within {seconds:g} s.") from exc
        except httpx.TransportError as exc:
            log.warning("bad upstream answer", extra={"upstream": service, "error": repr(exc)})
            raise BadGateway(f"Service '{service}' sent an invalid answer.") from exc
    chunks = upstream.aiter_raw()
    try:
        first = await anext(chunks, b"")
    except httpx.HTTPError as exc:
        await upstream.aclose()
        if isinstance(exc, httpx.TimeoutException):
            raise GatewayTimeout(f"Service '{service}' did not answer within {seconds:g} s.") from exc
        raise BadGateway(f"Service '{service}' broke off its answer.") from exc
    response = StreamingResponse(
        _relay(first, chunks, service),
        status_code=upstream.status_code,
        background=BackgroundTask(upstream.aclose),
    )
    lowered = ((k.lower(), v) for k, v in upstream.headers.raw)
    response.raw_headers = [
        (k, v) for k, v in lowered if k not in HOP_BY_HOP and k not in OWN_RESPONSE_HEADERS
    ]
    return response


async def _relay(first: bytes, rest: AsyncIterator[bytes], service: str) -> AsyncIterator[bytes]:
    """The upstream body as it arrives; an upstream failing midway fails the response, so the client's
    connection is aborted instead of ending as if the body were whole.
    """
    yield first
    try:
        async for chunk in rest:
            yield chunk
    except httpx.HTTPError:
        log.warning("upstream body interrupted", extra={"upstream": service})
        raise
