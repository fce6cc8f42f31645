"""The app factory: probes, request ids and JSON errors for every failure."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field

from kit.errors import Conflict
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service
from tests.support import asgi_client, raw_get, served


class ItemIn(BaseModel):
    name: str
    quantity: int = Field(gt=0)


def _app(settings: Settings) -> FastAPI:
    router = APIRouter()

    @router.get("/")
    async def list_items() -> dict[str, list[str]]:
        return {"data": []}

    @router.post("/items", status_code=201)
    async def create_item(item: ItemIn) -> ItemIn:
        return item

    @router.get("/conflict")
    async def conflict() -> None:
        raise Conflict("Variant v1 has 2 left", code="InsufficientStock", details=[{"variantId": "v1"}])

    @router.get("/me")
    async def me() -> dict[str, str]:
        return {"me": "yes"}

    @router.get("/peer")
    async def peer(request: Request) -> dict[str, Any]:
        forwarded = {k: v for k, v in request.headers.items() if k.startswith("x-forwarded-")}
        return {"client": request.client.host if request.client else None, "forwarded": forwarded}

    @router.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    return create_service(
        settings.for_service("products"), title="test", routers=[router], body_limits={"/upload": 4096}
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(_app(settings)) as client:
        yield client


async def test_health_answers_up_with_the_service_name(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "UP", "service": "products"}


async def test_ready_reports_each_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["dependencies"] == {"bus": "UP", "cache": "UP", "discovery": "UP"}


async def test_ready_also_checks_what_the_service_state_names(settings: Settings) -> None:
    class Engine:
        up = True

        async def ping(self) -> None:
            if not self.up:
                raise ConnectionError("engine unreachable")

    engine = Engine()

    @contextlib.asynccontextmanager
    async def state(_infra: Infra) -> AsyncIterator[Engine]:
        yield engine

    app = create_service(
        settings.for_service("search"), title="test", state=state, checks=lambda e: {"engine": e.ping}
    )
    async with asgi_client(app) as client:
        assert (await client.get("/ready")).json()["dependencies"]["engine"] == "UP"
        engine.up = False
        response = await client.get("/ready")
    assert response.status_code == 503
    assert "engine unreachable" in response.json()["dependencies"]["engine"]


async def test_a_request_id_is_minted_when_the_client_sends_none(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert len(response.headers["x-request-id"]) == 32


async def test_the_clients_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_an_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "a b\tc" * 50})
    assert response.headers["x-request-id"] != "a b\tc" * 50


async def test_a_missing_field_answers_400_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"quantity": 1})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "ValidationError"
    assert body["details"][0]["field"] == "name"
    assert "name" in body["message"]


async def test_an_invalid_value_answers_400_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "x", "quantity": 0})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "quantity"


async def test_malformed_json_answers_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "MalformedJson"


async def test_an_unknown_route_answers_404_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {
        "message": "Not Found: The path '/nowhere' does not exist.",
        "code": "NotFound",
    }


async def test_a_wrong_method_answers_405_json(client: httpx.AsyncClient) -> None:
    response = await client.delete("/items")
    assert response.status_code == 405
    assert response.json()["code"] == "MethodNotAllowed"


async def test_a_domain_error_keeps_its_status_code_and_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/conflict")
    assert response.status_code == 409
    assert response.json() == {
        "message": "Variant v1 has 2 left",
        "code": "InsufficientStock",
        "details": [{"variantId": "v1"}],
    }


async def test_a_bug_answers_500_json_without_internals(settings: Settings) -> None:
    async with LifespanManager(_app(settings), startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/boom", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 500
    assert response.json() == {
        "message": "Internal server error",
        "code": "InternalError",
        "requestId": "req-1",
    }
    assert response.headers["x-request-id"] == "req-1"


async def test_a_service_with_a_database_is_migrated_and_reports_it_ready(settings: Settings) -> None:
    from apis.orders.app import create_app

    async with asgi_client(create_app(settings)) as client:
        response = await client.get("/ready")
    assert response.json()["dependencies"]["database"] == "UP"
    assert (settings.data_dir / "orders.db").exists()


@contextlib.asynccontextmanager
async def client_from(app: FastAPI, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling `app` in process from the address `peer`."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(peer, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_a_trailing_slash_is_routed_as_without_it_never_redirected(client: httpx.AsyncClient) -> None:
    response = await client.get("/me/")
    assert response.status_code == 200
    assert response.json() == {"me": "yes"}


async def test_a_json_body_declared_above_the_limit_answers_413_unread(client: httpx.AsyncClient) -> None:
    big = b'{"name": "' + b"x" * (1 << 20) + b'"}'
    response = await client.post("/items", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"


async def test_a_streamed_body_past_the_limit_answers_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 2048

    response = await client.post("/upload", content=chunks())
    assert response.status_code == 413
    assert "4096 bytes" in response.json()["message"]
    assert (await client.post("/upload", content=b"x" * 4000)).json() == {"received": 4000}


async def test_forwarded_headers_from_an_untrusted_peer_are_dropped(settings: Settings) -> None:
    async with client_from(_app(settings), "203.0.113.5") as client:
        response = await client.get(
            "/peer", headers={"X-Forwarded-For": "10.1.1.1", "X-Forwarded-Proto": "https"}
        )
    assert response.json() == {"client": "203.0.113.5", "forwarded": {}}


async def test_forwarded_headers_from_the_gateway_name_the_client(settings: Settings) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    async with client_from(_app(trusted), "10.0.0.2") as client:
        response = await client.get("/peer", headers={"X-Forwarded-For": "198.51.100.7"})
    assert response.json()["client"] == "198.51.100.7"


async def test_uvicorn_as_the_platform_runs_it_believes_no_forwarded_header(settings: Settings) -> None:
    """uvicorn's own proxy_headers would believe X-Forwarded-For from 127.0.0.1; only kit.guards decides."""
    untrusting = settings.model_copy(update={"trusted_proxies": []})
    async with served(_app(untrusting)) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/peer", headers={"X-Forwarded-For": "10.9.9.9"})
    assert response.json() == {"client": "127.0.0.1", "forwarded": {}}


@pytest.mark.parametrize("target", ["/items/..", "/items/%2e%2e", "/%0A", "/items/%00", "/./me", "/me/.."])
async def test_a_path_naming_nothing_is_a_404_even_as_the_server_reads_it_raw(
    settings: Settings, target: str
) -> None:
    """Fuzzing: `/orders/%0A` and `/products/id/..` answered the list: a regex `$` matches before a final
    newline, and a client resolves `..` before it forwards. Sent raw, as the gateway's server gets them.
    """
    async with served(_app(settings)) as url:
        answer = await raw_get(url, target)
    status, _, body = answer.partition(b"\r\n")
    assert status.split()[1] == b"404", answer
    assert b'"RouteNotFound"' in body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"name": "a\\u0000b", "quantity": 1}', 400),
        (b'{"name": "\\\\\\u0000", "quantity": 1}', 400),  # an escaped backslash, then the NUL
        (b'{"name": "\\\\u0000", "quantity": 1}', 201),  # the six characters \u0000
    ],
)
async def test_a_nul_in_a_json_body_answers_400(client: httpx.AsyncClient, body: bytes, status: int) -> None:
    """PostgreSQL stores no NUL in text: one would fail the insert with a 500."""
    response = await client.post("/items", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["details"] == [
            {"field": "body", "location": "body", "message": "must not contain the NUL character"}
        ]


async def test_a_nul_split_between_two_chunks_answers_400(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "a\\u00'
        yield b'00", "quantity": 1}'

    response = await client.post("/items", content=chunks(), headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["code"]) == (400, "ValidationError")


async def test_a_nul_in_the_query_string_answers_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/", params={"q": "a\x00b", "page": "1"})
    assert (response.status_code, response.json()["code"]) == (400, "ValidationError")
    assert response.json()["message"] == "Invalid request: q: must not contain the NUL character"
    assert (await client.get("/", params={"q": "a%00b"})).status_code == 200  # the text %00 is no NUL
