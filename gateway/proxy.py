"""Forwarding one request to an upstream service: bodies streamed both ways, a timeout per upstream,
and JSON 502/503/504 when the upstream fails, is missing or is slow.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from kit.discovery import Registry
from kit.errors import BadGateway, GatewayTimeout, Unavailable
from kit.logs import request_id_var

log = logging.getLogger(__name__)

# Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus the ones we rewrite.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "x-request-id",
    }
)


def upstream_path(request: Request, prefix: str) -> str:
    """The raw path after the prefix, percent-encoding preserved, with the query string."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw.decode("latin-1")[len(prefix) + 1 :] or "/"
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def forwarded_headers(request: Request, prefix: str) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP]
    client = request.client.host if request.client else ""
    previous = request.headers.get("x-forwarded-for")
    headers += [
        ("x-forwarded-for", f"{previous}, {client}" if previous else client),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-host", request.headers.get("host", "")),
        ("x-forwarded-prefix", f"/{prefix}"),
        ("x-request-id", request_id_var.get() or ""),
    ]
    return headers


async def forward(
    request: Request, client: httpx.AsyncClient, registry: Registry, service: str, prefix: str, seconds: float
) -> StreamingResponse:
    """Send `request` to `service` and stream its answer back unchanged (statuses pass through)."""
    base = await registry.resolve(service)  # ServiceNotFound is a 503
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    outgoing = client.build_request(
        request.method,
        base + upstream_path(request, prefix),
        headers=forwarded_headers(request, prefix),
        content=request.stream() if has_body else None,
        timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)),
    )
    try:
        upstream = await client.send(outgoing, stream=True)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise Unavailable(f"Service '{service}' is unreachable.", code="UpstreamUnavailable") from exc
    except httpx.TimeoutException as exc:
        raise GatewayTimeout(f"Service '{service}' did not answer within {seconds:g} s.") from exc
    except httpx.TransportError as exc:
        log.warning("bad upstream answer", extra={"service": service, "error": repr(exc)})
        raise BadGateway(f"Service '{service}' sent an invalid answer.") from exc
    headers = [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in HOP_BY_HOP]
    return _streaming(upstream, headers, service)


def _streaming(upstream: httpx.Response, headers: list[tuple[str, str]], service: str) -> StreamingResponse:
    response = StreamingResponse(
        _relay_body(upstream, service),
        status_code=upstream.status_code,
        background=BackgroundTask(upstream.aclose),
    )
    response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return response


async def _relay_body(upstream: httpx.Response, service: str) -> AsyncIterator[bytes]:
    """The upstream body as it arrives; a failure mid-stream can only cut the response short."""
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        log.warning("upstream body interrupted", extra={"service": service, "error": repr(exc)})
