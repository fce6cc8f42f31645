"""A gateway in front of a stand-in upstream that echoes what reached it, with keys of its own."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from gateway.app import create_app
from kit.auth.tokens import USER_AUDIENCE, TokenVerifier
from kit.settings import Settings
from tests.support import embedded_settings, free_port, served

release_stream = asyncio.Event()
SIGNING_KEY = Ed25519PrivateKey.generate()


def token(subject: str = "user-1", **claims: Any) -> str:
    """An access token the gateway's verifier accepts."""
    now = int(time.time())
    values: dict[str, Any] = {"sub": subject, "email": "ada@example.com", "name": "Ada", "role": "Customer"}
    values |= {"permissions": [], "aud": USER_AUDIENCE, "iss": "commerce-auth", "iat": now, "exp": now + 900}
    values |= claims
    return jwt.encode(values, SIGNING_KEY, algorithm="EdDSA", headers={"kid": "gw"})


def bearer(subject: str = "user-1", **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(subject, **claims)}"}


async def _jwks() -> dict[str, Any]:
    public = OKPAlgorithm.to_jwk(SIGNING_KEY.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": "gw", "alg": "EdDSA", "use": "sig"}]}


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw],
            "bodyLength": len(body),
        },
        status_code=int(request.query_params.get("status", 200)),
    )


async def upload(request: Request) -> JSONResponse:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
    return JSONResponse({"received": received})


async def stream(_request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"first\n"
        await release_stream.wait()
        yield b"second\n"

    return StreamingResponse(body(), media_type="text/plain")


async def cookie(_request: Request) -> JSONResponse:
    response = JSONResponse({})
    response.set_cookie("session", "first-clients")
    return response


async def slow(_request: Request) -> JSONResponse:
    await asyncio.sleep(5)
    return JSONResponse({})


upstream = Starlette(
    routes=[
        Route("/upload", upload, methods=["POST"]),
        Route("/stream", stream),
        Route("/slow", slow),
        Route("/cookie", cookie),
        Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
)


def header(answer: httpx.Response, name: str) -> list[str]:
    """Every value of header `name` the upstream received."""
    return [value for key, value in answer.json()["headers"] if key == name]


@contextlib.asynccontextmanager
async def raw_server(
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any],
) -> AsyncIterator[int]:
    """A TCP server answering each connection with `answer`; yields its port."""
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def _garbage(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"this is not http\r\n\r\n")
    await writer.drain()
    writer.close()


async def _cut_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A chunked 200 that dies after its first chunk."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n5\r\nfirst\r\n"
    )
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()


async def _headers_then_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A 200 whose body never comes: the connection closes right after the headers."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
    await writer.drain()
    writer.close()


GatewayFactory = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


ROUTED = {"products": "echo", "carts": "echo", "orders": "echo", "auth": "echo", "images": "closed"}


@pytest.fixture
def open_gateway(tmp_path: Path) -> GatewayFactory:
    """Opens a gateway with the keys of `token`, each service routed to one stand-in (ROUTED, search on
    garbage; `routes` overrides: `{"auth": "cut_off"}`), settings overridden by the other keywords.
    """

    @contextlib.asynccontextmanager
    async def opened(
        routes: dict[str, str] | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        release_stream.clear()
        async with (
            served(upstream) as echo_url,
            raw_server(_garbage) as garbage,
            raw_server(_cut_off) as cut_off,
            raw_server(_headers_then_nothing) as nothing,
        ):
            servers = {
                "echo": echo_url,
                "garbage": f"http://127.0.0.1:{garbage}",
                "cut_off": f"http://127.0.0.1:{cut_off}",
                "nothing": f"http://127.0.0.1:{nothing}",
                "closed": f"http://127.0.0.1:{free_port()}",
            }
            pins = "&".join(
                f"{service}={servers[name]}"
                for service, name in ({"search": "garbage"} | ROUTED | (routes or {})).items()
            )
            values: dict[str, Any] = {
                "discovery_url": f"static://?{pins}",
                "upstream_timeouts": {"carts": 0.3},
            }
            settings: Settings = embedded_settings(tmp_path, **(values | overrides))
            app = create_app(settings)
            app.state.token_verifier = TokenVerifier(_jwks, issuer=settings.jwt_issuer)
            async with served(app) as gateway_url, httpx.AsyncClient(base_url=gateway_url) as client:
                yield client

    return opened


@pytest.fixture
async def gateway(open_gateway: GatewayFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with open_gateway() as client:
        yield client
