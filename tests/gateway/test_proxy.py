"""The gateway forwards through discovery, streams both ways and answers JSON when an upstream fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from gateway import proxy
from kit.web import UVICORN_OPTIONS
from tests.gateway.conftest import GatewayFactory, bearer, header, release_stream


async def test_the_path_after_the_prefix_and_the_query_reach_the_service(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/products/categories/a%2Fb?format=tree&x=1")
    assert response.status_code == 200
    assert response.json()["path"] == "/categories/a%2Fb"
    assert response.json()["query"] == "format=tree&x=1"
    assert header(response, "x-forwarded-prefix") == ["/products"]


async def test_the_bare_prefix_reaches_the_service_root(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/products")).json()["path"] == "/"


async def test_a_prefix_that_only_starts_alike_is_not_routed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/productsx/1")
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


async def test_headers_and_the_request_id_are_forwarded(gateway: httpx.AsyncClient) -> None:
    authorization = bearer()["Authorization"]
    response = await gateway.get(
        "/orders/1", headers={"Authorization": authorization, "X-Request-ID": "rid-7"}
    )
    assert header(response, "authorization") == [authorization]
    assert header(response, "x-request-id") == ["rid-7"]
    assert response.headers["x-request-id"] == "rid-7"


async def test_upstream_statuses_pass_through(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/orders/x?status=409", content=b'{"a": 1}')
    assert response.status_code == 409
    assert response.json()["method"] == "POST"
    assert response.json()["bodyLength"] == 8


async def test_a_large_body_is_streamed_to_the_service(open_gateway: GatewayFactory) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(80):
            yield b"x" * 65536

    async with open_gateway(max_body_bytes=80 * 65536) as gateway:
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


def test_a_service_never_closes_an_idle_connection_before_the_gateway_drops_it() -> None:
    """Fuzzing through the gateway met a 502 on a POST: the service (uvicorn's 5 s) closed a connection the
    gateway's pool still held (30 s) just as a request went out on it, and a POST is never sent twice.
    """
    assert UVICORN_OPTIONS.get("timeout_keep_alive", 5) > proxy.POOL_IDLE_SECONDS
