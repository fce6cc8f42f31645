"""The app factory: probes, request ids and JSON errors for every failure."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from kit.errors import Conflict
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service
from tests.support import asgi_client


class ItemIn(BaseModel):
    name: str
    quantity: int = Field(gt=0)


def _app(settings: Settings) -> FastAPI:
    router = APIRouter()

    @router.post("/items", status_code=201)
    async def create_item(item: ItemIn) -> ItemIn:
        return item

    @router.get("/conflict")
    async def conflict() -> None:
        raise Conflict("Variant v1 has 2 left", code="InsufficientStock", details=[{"variantId": "v1"}])

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    return create_service(settings.for_service("products"), title="test", routers=[router])


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
