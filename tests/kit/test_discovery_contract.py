"""The discovery contract, the same for every adapter; health checks only where the registry has them."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kit.discovery import Instance, Registry, ServiceNotFound, open_registry
from tests.support import eventually, real_server_url, served


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "UP"})


health_app = Starlette(routes=[Route("/health", health)])


@pytest.fixture(params=["static", pytest.param("consul", marks=pytest.mark.integration)])
async def registry(request: pytest.FixtureRequest) -> AsyncIterator[Registry]:
    if request.param == "consul":
        url = real_server_url("COMMERCE_TEST_CONSUL_URL") + "?interval=1s&timeout=1s&deregister=1m"
    else:
        url = "static://"
    async with open_registry(url) as opened:
        yield opened


@contextlib.asynccontextmanager
async def running(registry: Registry, name: str) -> AsyncIterator[Instance]:
    """A real instance of `name` answering /health, registered for the duration."""
    async with served(health_app) as url:
        port = int(url.rsplit(":", 1)[1])
        instance = Instance(name=name, id=f"{name}-{port}", host="127.0.0.1", port=port)
        await registry.register(instance)
        try:
            yield instance
        finally:
            await registry.deregister(instance)


async def resolves_to(registry: Registry, name: str, urls: set[str]) -> bool:
    try:
        return {await registry.resolve(name) for _ in range(2 * len(urls))} == urls
    except ServiceNotFound:
        return False


async def not_found(registry: Registry, name: str) -> bool:
    try:
        await registry.resolve(name)
    except ServiceNotFound:
        return True
    return False


@pytest.fixture
def name() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


async def test_a_registered_instance_is_resolved(registry: Registry, name: str) -> None:
    async with running(registry, name) as instance:
        await eventually(lambda: resolves_to(registry, name, {instance.url}), within=30)


async def test_calls_are_spread_over_healthy_instances(registry: Registry, name: str) -> None:
    async with running(registry, name) as first, running(registry, name) as second:
        await eventually(lambda: resolves_to(registry, name, {first.url, second.url}), within=30)


async def test_a_deregistered_service_is_not_found(registry: Registry, name: str) -> None:
    async with running(registry, name) as instance:
        await eventually(lambda: resolves_to(registry, name, {instance.url}), within=30)
    await eventually(lambda: not_found(registry, name), within=30)


@pytest.mark.integration
async def test_an_instance_failing_its_health_check_disappears(name: str) -> None:
    url = real_server_url("COMMERCE_TEST_CONSUL_URL") + "?interval=1s&timeout=1s&deregister=1m"
    async with open_registry(url) as registry:
        async with served(health_app) as base:
            port = int(base.rsplit(":", 1)[1])
            instance = Instance(name=name, id=f"{name}-{port}", host="127.0.0.1", port=port)
            await registry.register(instance)
            await eventually(lambda: resolves_to(registry, name, {instance.url}), within=30)
        # the instance died without deregistering: its check fails and lookups stop returning it
        await eventually(lambda: not_found(registry, name), within=30)
        await registry.deregister(instance)


async def test_static_urls_pin_a_service_when_nothing_registered() -> None:
    pins = "static://?images=http://10.1.2.3:3004/"
    async with open_registry(pins, {"images": "http://127.0.0.1:3004"}) as registry:
        assert await registry.resolve("images") == "http://10.1.2.3:3004"
