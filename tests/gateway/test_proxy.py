"""The gateway forwards through discovery, streams both ways and answers JSON when an upstream fails."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from gateway.app import create_app
from tests.support import embedded_settings, free_port, served

release_stream = asyncio.Event()


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "requestId": request.headers.get("x-request-id"),
            "forwardedPrefix": request.headers.get("x-forwarded-prefix"),
            "authorization": request.headers.get("authorization"),
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


async def slow(_request: Request) -> JSONResponse:
    await asyncio.sleep(5)
    return JSONResponse({})


upstream = Starlette(
    routes=[
        Route("/upload", upload, methods=["POST"]),
        Route("/stream", stream),
        Route("/slow", slow),
        Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
)


@contextlib.asynccontextmanager
async def garbage_server() -> AsyncIterator[int]:
    """Answers every connection with bytes that are not HTTP."""

    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"this is not http\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    release_stream.clear()
    async with served(upstream) as upstream_url, garbage_server() as garbage_port:
        pins = (
            f"products={upstream_url}&carts={upstream_url}&orders={upstream_url}"
            f"&images=http://127.0.0.1:{free_port()}&search=http://127.0.0.1:{garbage_port}"
        )
        settings = embedded_settings(
            tmp_path, discovery_url=f"static://?{pins}", upstream_timeouts={"carts": 0.3}
        )
        async with (
            served(create_app(settings)) as gateway_url,
            httpx.AsyncClient(base_url=gateway_url) as client,
        ):
            yield client


async def test_the_path_after_the_prefix_and_the_query_reach_the_service(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/products/categories/a%2Fb?format=tree&x=1")
    assert response.status_code == 200
    assert response.json()["path"] == "/categories/a%2Fb"
    assert response.json()["query"] == "format=tree&x=1"
    assert response.json()["forwardedPrefix"] == "/products"


async def test_the_bare_prefix_reaches_the_service_root(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/products")).json()["path"] == "/"


async def test_a_prefix_that_only_starts_alike_is_not_routed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/productsx/1")
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


async def test_headers_and_the_request_id_are_forwarded(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/orders/1", headers={"Authorization": "Bearer t", "X-Request-ID": "rid-7"})
    assert response.json()["authorization"] == "Bearer t"
    assert response.json()["requestId"] == "rid-7"
    assert response.headers["x-request-id"] == "rid-7"


async def test_upstream_statuses_pass_through(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/orders/x?status=409", content=b'{"a": 1}')
    assert response.status_code == 409
    assert response.json()["method"] == "POST"
    assert response.json()["bodyLength"] == 8


async def test_a_large_body_is_streamed_to_the_service(gateway: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(80):
            yield b"x" * 65536

    response = await gateway.post("/products/upload", content=chunks())
    assert response.json() == {"received": 80 * 65536}


async def test_the_answer_is_streamed_back_as_it_comes(gateway: httpx.AsyncClient) -> None:
    async with gateway.stream("GET", "/products/stream") as response:
        lines = response.aiter_lines()
        assert await asyncio.wait_for(anext(lines), 5) == "first"  # would hang if the gateway buffered
        release_stream.set()
        assert await asyncio.wait_for(anext(lines), 5) == "second"


async def test_an_unreachable_service_answers_503_json(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/images/a.png")
    assert response.status_code == 503
    assert response.json() == {"message": "Service 'images' is unreachable.", "code": "UpstreamUnavailable"}


async def test_a_slow_service_answers_504_json(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/carts/slow")
    assert response.status_code == 504
    assert response.json()["code"] == "GatewayTimeout"


async def test_a_service_answering_garbage_answers_502_json(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/search/products")
    assert response.status_code == 502
    assert response.json()["code"] == "BadGateway"


async def test_internal_routes_are_not_reachable_from_outside(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/products/internal/variant-details", json={})
    assert response.status_code == 404


async def test_an_unknown_prefix_answers_404_json(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/payments/process")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found: The path '/payments/process' does not exist."


async def test_the_gateway_root_says_it_is_online(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/")).json() == {"message": "API Gateway is online."}
