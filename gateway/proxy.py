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

import aiohttp
from fastapi import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from kit import metrics, tracing
from kit.auth.edge import IDENTITY_HEADER_PREFIX
from kit.discovery import Registry
from kit.errors import AppError, BadGateway, BadRequest, GatewayTimeout, Unavailable
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
ROUTE_HEADER = metrics.ROUTE_HEADER.encode()
# The gateway's own server writes these on every answer; the upstream's would make two of each.
OWN_RESPONSE_HEADERS = frozenset({b"date", b"server"})
REWRITTEN_PREFIXES = (b"x-forwarded-", IDENTITY_HEADER_PREFIX.encode())
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# No answer came: refused, or a connection dropped before the answer (a pooled one to an instance just
# killed). Sending an idempotent request again elsewhere is then safe (RFC 9110 section 9.2.2).
CONNECTION_FAILURES = (aiohttp.ClientOSError, aiohttp.ConnectionTimeoutError, aiohttp.ServerDisconnectedError)
POOL_IDLE_SECONDS = (
    30  # below the services' own keep-alive (kit.web.KEEP_ALIVE_SECONDS): they never close first
)
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


def upstream_session() -> aiohttp.ClientSession:
    """The gateway's pool of connections to every upstream: no cookie jar (an upstream's cookie is one
    client's), bodies passed on as they are (no decompression), no header the client did not send.
    """
    return aiohttp.ClientSession(
        trace_configs=tracing.aiohttp_trace_configs(),  # with tracing on: a span per forward, its traceparent
        connector=aiohttp.TCPConnector(limit=500, limit_per_host=0, keepalive_timeout=POOL_IDLE_SECONDS),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
    )


def _as_text(headers: Headers) -> list[tuple[str, str]]:
    """Headers for the client library, which writes them as UTF-8: a value that is not UTF-8 is a 400."""
    try:
        return [(k.decode("latin-1"), v.decode()) for k, v in headers]
    except UnicodeDecodeError as exc:
        names = [k.decode("latin-1") for k, v in headers if not _is_utf8(v)]
        raise BadRequest(f"Header '{names[0]}' is not valid UTF-8.", code="InvalidHeader") from exc


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


async def forward(
    request: Request,
    session: aiohttp.ClientSession,
    registry: Registry,
    service: str,
    target: str,
    *,
    prefix: str,
    seconds: float,
    retries: int,
    identity: Sequence[tuple[bytes, bytes]] = (),
) -> Response:
    """Send `request` to `target` on `service`; stream its answer back unchanged (statuses pass through)."""
    headers = _as_text(forwarded_headers(request, prefix, identity))
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    body = _Body(request.stream()) if has_body else None
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(seconds, 5.0), sock_read=seconds)
    tries = 1 + (retries if request.method in IDEMPOTENT else 0)
    failed: set[str] = set()
    for attempt in range(1, tries + 1):
        base = await _instance(registry, service, failed)
        try:
            upstream = await session.request(
                request.method,
                base + target,
                headers=headers,
                data=body,
                timeout=timeout,
                allow_redirects=False,
            )
            break
        except CONNECTION_FAILURES as exc:
            if attempt == tries or (body is not None and body.started):
                raise _failure(exc, service, seconds) from exc
            failed.add(base)
            log.info("upstream connection failed, retrying", extra={"upstream": service, "url": base})
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _failure(exc, service, seconds) from exc
    try:
        first = await upstream.content.readany()
    except (aiohttp.ClientError, TimeoutError) as exc:
        upstream.release()
        raise _failure(exc, service, seconds) from exc
    answer: Headers = []
    for name, value in upstream.raw_headers:
        lowered = name.lower()
        if lowered == ROUTE_HEADER:  # the upstream's route template: our metrics' label, not the client's
            metrics.name_route(request.scope, f"/{prefix}{value.decode('latin-1')}".rstrip("/"))
        elif lowered not in HOP_BY_HOP and lowered not in OWN_RESPONSE_HEADERS:
            answer.append((lowered, value))
    return Relayed(upstream, answer, first, service)


class Relayed(Response):
    """The upstream's answer sent on as it arrives, its first chunk already read (so that an upstream dying
    before any body is a 502). No task listens for the client leaving: a send to a client gone fails.
    An upstream failing midway fails the response, so the client's connection is aborted instead of
    ending as if the body were whole.
    """

    def __init__(
        self, upstream: aiohttp.ClientResponse, headers: Headers, first: bytes, service: str
    ) -> None:
        self.status_code = upstream.status
        self.raw_headers = headers
        self.background = None
        self._upstream, self._first, self._service = upstream, first, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        whole = self._upstream.content.at_eof()  # the usual JSON answer came in one read
        try:
            start = {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            await send(start)
            await send({"type": "http.response.body", "body": self._first, "more_body": not whole})
            if whole:
                return
            async for chunk in self._upstream.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (aiohttp.ClientError, TimeoutError):
            log.warning("upstream body interrupted", extra={"upstream": self._service})
            raise
        finally:
            self._upstream.release()


async def _instance(registry: Registry, service: str, failed: set[str]) -> str:
    """An instance of `service` (ServiceNotFound, a 503, when none), one that has not just failed if there is
    one: discovery spreads calls in turns, which concurrent requests share.
    """
    base = await registry.resolve(service)
    for _ in range(3):
        if base not in failed:
            break
        base = await registry.resolve(service)
    return base


def _failure(exc: Exception, service: str, seconds: float) -> AppError:
    """What the client is told: 503 unreachable, 504 too slow, 502 anything else the upstream did."""
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return Unavailable(f"Service '{service}' is unreachable.", code="UpstreamUnavailable")
    if isinstance(exc, TimeoutError):
        return GatewayTimeout(f"Service '{service}' did not answer within {seconds:g} s.")
    log.warning("bad upstream answer", extra={"upstream": service, "error": repr(exc)})
    return BadGateway(f"Service '{service}' sent an invalid or broken answer.")
