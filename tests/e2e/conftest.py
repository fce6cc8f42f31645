"""The whole platform in this process, as `commerce dev` runs it, on free ports, with its own Temporal."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from commerce.platform import serving
from kit.settings import SERVICES, Settings
from tests.support import (
    embedded_settings,
    free_port,
    scratch_databases,
    scratch_elastic_index,
    temporal_dev_server,
)

ADDRESS = {"street": "1 Main St", "city": "Lyon", "postalCode": "69001", "country": "FR"}


@pytest.fixture(scope="module")
def own_temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Temporal server for this module alone: its workers take the platform's real task queues."""
    with temporal_dev_server(tmp_path_factory.mktemp("temporal")) as address:
        yield address


@dataclass
class Shop:
    """The platform as a client sees it: the gateway, plus the settings it runs with."""

    http: httpx.AsyncClient
    settings: Settings
    admin: dict[str, str]

    async def login(self, email: str, password: str) -> dict[str, str]:
        response = await self.http.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    async def customer(self) -> tuple[dict[str, str], str]:
        email = f"c-{uuid.uuid4().hex[:10]}@example.com"
        body = {"name": "Carla Customer", "email": email, "password": "correct horse battery"}
        response = await self.http.post("/auth/register", json=body)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}, email

    async def product(self, stock: int = 10, price: str = "25.00") -> tuple[str, str]:
        """A product with one variant; returns (product id, variant id)."""
        sku = f"SKU-{uuid.uuid4().hex[:10].upper()}"
        body = {
            "sku": sku,
            "name": {"en": "Trail shoe", "fr": "Chaussure de trail"},
            "variants": [{"attributes": {"Color": "Red"}, "price": price, "initialStockQuantity": stock}],
        }
        response = await self.http.post("/products", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        product = response.json()
        product = product.get("data", product)
        return product["id"], product["variants"][0]["id"]

    async def stock(self, product_id: str, variant_id: str) -> int:
        response = await self.http.get(f"/products/{product_id}/variants/{variant_id}", headers=self.admin)
        assert response.status_code == 200, response.text
        body = response.json()
        return int(body.get("data", body)["stockQuantity"])

    async def order(
        self, variant_id: str, quantity: int = 1, headers: dict[str, str] | None = None, **fields: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "items": [{"variantId": variant_id, "quantity": quantity}],
            "shippingAddress": ADDRESS,
            "phone": "+33 6 12 34 56 78",
            "paymentMethod": "CASH_ON_DELIVERY",
            **fields,
        }
        if headers is None:
            body.setdefault("guestEmail", f"g-{uuid.uuid4().hex[:10]}@example.com")
            body.setdefault("guestName", "Gus Guest")
        return await self.http.post("/orders", json=body, headers=headers or {})


@contextlib.asynccontextmanager
async def open_shop(
    temporal: str,
    data_dir: Path,
    queues: Iterable[str] | None = None,
    *,
    answer_seconds: float = 15,
    **overrides: Any,
) -> AsyncIterator[Shop]:
    """The platform on free ports with the workers of `queues` (all by default), and its admin logged in;
    `overrides` are settings (`search_url=...`).

    `POST /orders` waits up to `answer_seconds` for the saga: long enough that a loaded machine does not
    turn a 201 into a 202.
    """
    ports = {name: free_port() for name in (*SERVICES, "gateway")}
    unlimited = {"per_second": 0}  # every shopper here comes from 127.0.0.1: tests/gateway test the limits
    settings = embedded_settings(
        data_dir,
        temporal_address=temporal,
        ports=ports,
        product_sync_debounce=0.2,
        order_answer_seconds=answer_seconds,
        **({"rate_limit": unlimited, "strict_rate_limit": unlimited} | overrides),
    )
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    async with serving(settings, queues), httpx.AsyncClient(base_url=gateway, timeout=60) as http:
        password = settings.admin_password.get_secret_value()
        admin = await Shop(http, settings, {}).login(settings.admin_email, password)
        yield Shop(http, settings, admin)


EMBEDDED_AND_REAL = pytest.mark.parametrize("shop", ["embedded", "real"], indirect=True, scope="module")
"""A module's mark: its tests run on the embedded platform, then again on the run's real servers."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(
    request: pytest.FixtureRequest, own_temporal: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Shop]:
    """The platform on its embedded adapters; "real" (EMBEDDED_AND_REAL) puts it on the run's PostgreSQL,
    in databases of its own, and Elasticsearch, under an index alias of its own.
    """
    async with contextlib.AsyncExitStack() as stack:
        overrides: dict[str, Any] = {}
        if getattr(request, "param", "embedded") == "real":
            overrides["database_url"] = await stack.enter_async_context(scratch_databases())
            overrides["search_url"] = await stack.enter_async_context(scratch_elastic_index())
        yield await stack.enter_async_context(
            open_shop(own_temporal, tmp_path_factory.mktemp("platform"), **overrides)
        )


def start_worker(shop: Shop) -> subprocess.Popen[bytes]:
    """`commerce worker orders`, as an operator starts it, against this platform."""
    settings = shop.settings
    env = {
        **os.environ,
        "COMMERCE_PORTS": json.dumps(settings.ports),
        "COMMERCE_DATA_DIR": str(settings.data_dir),
        "COMMERCE_TEMPORAL_ADDRESS": settings.temporal_address,
        "COMMERCE_ENVIRONMENT": "test",
    }
    command = [str(Path(sys.executable).parent / "commerce"), "worker", "orders"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def pending(shop: Shop) -> int:
    page = await shop.http.get("/orders", params={"status": "PENDING", "limit": 1}, headers=shop.admin)
    total: int = page.json()["pagination"]["total"]
    return total
