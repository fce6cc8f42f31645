"""ASGI guards every service and the gateway run before routing: bodies bounded in size and in pauses,
a trailing slash routed as if absent (never a redirect to an internal address), X-Forwarded-* believed
only from trusted peers, paths naming nothing (control characters, dot segments) refused, and NUL characters
refused wherever they could reach a text column.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.errors import AppError, BadRequest, NotFound, PayloadTooLarge, RequestTimeout

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BodyGuard:
    """Refuse a body above its route's limit with 413 before it is buffered (Content-Length first, then the
    bytes as they stream), and one that pauses longer than `timeout` between chunks with 408.

    `limits` maps a path to its own limit (`/upload`); every other path gets `default`.
    """

    def __init__(self, app: ASGIApp, *, default: int, limits: Mapping[str, int], timeout: float) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits)
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await _answer(scope, receive, send, _too_large(limit))
            return
        received, finished, started = 0, False, False
        refused: AppError | None = None

        async def guarded_receive() -> Message:
            nonlocal received, finished, refused
            if finished:
                return await receive()
            try:
                async with asyncio.timeout(self.timeout):  # no task per chunk, unlike wait_for
                    message = await receive()
            except TimeoutError:
                refused = RequestTimeout(f"The request body paused for more than {self.timeout:g} s.")
                raise refused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = _too_large(limit)
                    raise refused
                finished = not message.get("more_body", False)
            else:
                finished = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused is not None and not started:
                return  # whatever the app made of the refusal, the client gets the refusal itself
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if refused is None or started:
                raise
        if refused is not None and not started:
            await _answer(scope, receive, send, refused)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than this route's limit of {limit} bytes.")


async def _answer(scope: Scope, receive: Receive, send: Send, error: AppError) -> None:
    headers = {"Connection": "close"}  # the rest of the body is never read
    await JSONResponse(error.body(), status_code=error.status_code, headers=headers)(scope, receive, send)


class TrailingSlash:
    """Route `/me/` as `/me`, as the seed did: FastAPI would redirect to the address the service was
    reached at, which behind the gateway is an internal one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            raw: bytes = scope.get("raw_path") or path.encode()
            scope = dict(scope, path=path.rstrip("/") or "/", raw_path=raw.rstrip(b"/") or b"/")
        await self.app(scope, receive, send)


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`127.0.0.1`, `10.0.0.0/8`, `::1` as networks."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class TrustedForwarded:
    """The client's address and scheme: from X-Forwarded-For/-Proto when the peer is a trusted proxy (the
    right-most hop no trusted proxy added), else the peer itself, with the X-Forwarded-* headers removed so
    nothing downstream reads a client's own.
    """

    def __init__(self, app: ASGIApp, *, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = client[0] if client else ""
        if not is_trusted(peer, self.trusted):
            headers = [(k, v) for k, v in scope["headers"] if not k.startswith(b"x-forwarded-")]
            await self.app(dict(scope, headers=headers), receive, send)
            return
        hops = [hop.strip() for hop in _header(scope, b"x-forwarded-for").split(",") if hop.strip()]
        address = peer
        for hop in reversed(hops):
            address = hop
            if not is_trusted(hop, self.trusted):
                break
        scope = dict(scope, client=(address, 0))
        proto = _header(scope, b"x-forwarded-proto").rsplit(",", 1)[-1].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    """The header's values joined as one (RFC 9110 list syntax); empty when absent."""
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == name]
    return ",".join(values)


class PlainPaths:
    """404 for a path holding a control character or a `.`/`..` segment (`/orders/%0A`, `/products/id/..`):
    routing would match `/\\n` as the list route `/` (a regex `$` matches before a final newline), and an
    HTTP client resolves `..` before it forwards, both answering the list body for a path that names nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not is_plain(scope.get("path", "")):
            await _answer(scope, receive, send, NotFound("No route matches this path.", code="RouteNotFound"))
            return
        await self.app(scope, receive, send)


def is_plain(path: str) -> bool:
    """No control character, no dot segment (the path as decoded: `%2e%2e` is `..`)."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        return False
    return not any(segment in (".", "..") for segment in path.split("/"))


# `\u0000` in JSON text, not preceded by an escaping backslash (`\\u0000` is the six characters).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_MESSAGE = "must not contain the NUL character"
_CARRY = 64  # bytes of the previous chunk kept, so that an escape split between two chunks is seen


class NoNul:
    """400 for a NUL character in the query string (`%00`) or in a JSON body (`\\u0000`): PostgreSQL stores
    no NUL in a text column, so one would fail the query with a 500 instead of being refused as bad input.
    (A NUL in the path is PlainPaths' 404; a raw NUL byte is no valid JSON anyway.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query:
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
            named = [name for name, value in pairs if "\x00" in name + value]
            await _answer(scope, receive, send, _nul(named or ["query"], "query"))
            return
        kind = _header(scope, b"content-type").lower()
        if kind and "json" not in kind:  # FastAPI reads a body without a content type as JSON too
            await self.app(scope, receive, send)
            return
        carry, refused, started = b"", False, False

        async def scanned_receive() -> Message:
            nonlocal carry, refused
            message = await receive()
            if message["type"] == "http.request":
                seen = carry + message.get("body", b"")
                if _NUL_ESCAPE.search(seen):
                    refused = True
                    raise _nul(["body"], "body")
                carry = seen[-_CARRY:]
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # whatever the app made of the refusal, the client gets the refusal itself
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, scanned_receive, guarded_send)
        except Exception:
            if not refused or started:
                raise
        if refused and not started:
            await _answer(scope, receive, send, _nul(["body"], "body"))


def _nul(fields: list[str], location: str) -> BadRequest:
    """The refusal of a NUL, as bad input is answered: naming the query parameters (or the body)."""
    details = [{"field": name, "location": location, "message": NUL_MESSAGE} for name in fields]
    summary = "; ".join(f"{name}: {NUL_MESSAGE}" for name in fields)
    return BadRequest(f"Invalid request: {summary}", code="ValidationError", details=details)
