"""ServiceClient: discovery, request ids, credentials and upstream failures mapped to our errors."""

from __future__ import annotations

import httpx
import pytest

from kit.clients import ServiceClient
from kit.discovery.static import StaticRegistry
from kit.errors import AppError, BadRequest, Conflict, NotFound, Unavailable
from kit.logs import request_id_var

registry = StaticRegistry("static://?products=http://products.test:3003")


def answering(status: int, body: object = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        echo = {
            "url": str(request.url),
            "requestId": request.headers.get("x-request-id"),
            "authorization": request.headers.get("authorization"),
        }
        return httpx.Response(status, json=echo if body is None else body)

    return httpx.MockTransport(handler)


async def test_calls_reach_the_resolved_service_with_the_request_id() -> None:
    token = request_id_var.set("rid-1")
    try:
        async with ServiceClient(registry, "products", transport=answering(200)) as client:
            body = await client.get("/variants/1", params={"x": "1"})
    finally:
        request_id_var.reset(token)
    assert body["url"] == "http://products.test:3003/variants/1?x=1"
    assert body["requestId"] == "rid-1"


async def test_service_credentials_are_sent_as_a_bearer_token() -> None:
    async def token() -> str:
        return "service-token"

    async with ServiceClient(registry, "products", token=token, transport=answering(200)) as client:
        assert (await client.post("/internal/x", json={}))["authorization"] == "Bearer service-token"


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequest), (404, NotFound), (409, Conflict), (500, Unavailable), (503, Unavailable)],
)
async def test_upstream_failures_become_our_errors(status: int, error: type[AppError]) -> None:
    body = {"message": "Variant v1 has 2 left", "code": "InsufficientStock", "details": [{"available": 2}]}
    async with ServiceClient(registry, "products", transport=answering(status, body)) as client:
        with pytest.raises(error) as raised:
            await client.post("/stock/adjust/v1", json={})
    if status < 500:
        assert raised.value.code == "InsufficientStock"
        assert raised.value.details == [{"available": 2}]


async def test_a_network_failure_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with ServiceClient(registry, "products", transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(Unavailable):
            await client.get("/x")


async def test_an_empty_answer_is_none() -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(204))
    async with ServiceClient(registry, "products", transport=transport) as client:
        assert await client.delete("/x") is None


@pytest.mark.parametrize("dropped", [httpx.ReadError, httpx.RemoteProtocolError])
async def test_a_connection_dropped_under_a_request_is_tried_once_more(dropped: type[Exception]) -> None:
    """Under load the e2e rush met it: a pooled keep-alive connection the server had just closed."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise dropped("connection closed")
        return httpx.Response(200, json={"ok": True})

    async with ServiceClient(registry, "products", transport=httpx.MockTransport(handler)) as client:
        assert await client.post("/internal/variants") == {"ok": True}
    assert calls == ["/internal/variants"] * 2


async def test_a_connection_dropped_twice_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection closed")

    async with ServiceClient(registry, "products", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(Unavailable):
            await client.get("/x")
