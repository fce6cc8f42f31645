"""The discovery contract, the same for every adapter."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from kit.discovery import Instance, Registry, ServiceNotFound, open_registry


@pytest.fixture(params=["static"])
async def registry(request: pytest.FixtureRequest) -> AsyncIterator[Registry]:
    async with open_registry("static://") as opened:
        yield opened


def instance(name: str, port: int) -> Instance:
    return Instance(name=name, id=f"{name}-{port}", host="127.0.0.1", port=port)


async def test_a_registered_instance_is_resolved(registry: Registry) -> None:
    name = f"svc-{uuid.uuid4().hex[:8]}"
    await registry.register(instance(name, 4100))
    assert await registry.resolve(name) == "http://127.0.0.1:4100"


async def test_calls_are_spread_over_instances(registry: Registry) -> None:
    name = f"svc-{uuid.uuid4().hex[:8]}"
    await registry.register(instance(name, 4101))
    await registry.register(instance(name, 4102))
    assert {await registry.resolve(name) for _ in range(4)} == {
        "http://127.0.0.1:4101",
        "http://127.0.0.1:4102",
    }


async def test_a_deregistered_service_is_not_found(registry: Registry) -> None:
    name = f"svc-{uuid.uuid4().hex[:8]}"
    await registry.register(instance(name, 4103))
    await registry.deregister(instance(name, 4103))
    with pytest.raises(ServiceNotFound):
        await registry.resolve(name)


async def test_static_urls_pin_a_service_when_nothing_registered() -> None:
    async with open_registry(
        "static://?images=http://10.1.2.3:3004/", {"images": "http://127.0.0.1:3004"}
    ) as reg:
        assert await reg.resolve("images") == "http://10.1.2.3:3004"
