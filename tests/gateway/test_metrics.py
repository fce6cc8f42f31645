"""The gateway's metrics: labelled by the upstream's route template, never served on the public port, and
no service's `/metrics` reachable through it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter

from kit import metrics
from kit.web import create_service
from tests.gateway.conftest import GatewayFactory
from tests.support import embedded_settings, free_port, raw_get, sample, served


@pytest.mark.parametrize("target", ["/orders/metrics", "/products/metrics/", "/carts/%6detrics", "/metrics"])
async def test_metrics_are_never_reachable_through_the_gateway(
    gateway: httpx.AsyncClient, target: str
) -> None:
    answer = await raw_get(str(gateway.base_url), target)
    status, _, body = answer.partition(b"\r\n")
    assert status.split()[1] == b"404", answer
    assert b"# TYPE" not in body


async def test_the_gateway_counts_a_request_under_the_upstreams_route_template(
    open_gateway: GatewayFactory, tmp_path: Path
) -> None:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    upstream_port, port = free_port(), free_port()
    settings = embedded_settings(tmp_path / "svc", ports={"products": upstream_port})
    service = create_service(settings.for_service("products"), routers=[router], title="t")
    labels = {"service": "gateway", "method": "GET", "route": "/products/things/{thing_id}", "status": "200"}
    async with (
        served(service, upstream_port) as products,
        open_gateway(discovery_url=f"static://?products={products}", metrics_port=port) as gateway,
    ):
        before = sample((await metrics.exposition()), "commerce_http_requests_total", **labels)
        answer = await gateway.get("/products/things/abc-123")
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(f"http://127.0.0.1:{port}/metrics")).text

    assert answer.status_code == 200, answer.text
    assert metrics.ROUTE_HEADER not in answer.headers  # the template is the gateway's, not the client's
    assert sample(scraped, "commerce_http_requests_total", **labels) == before + 1
    assert "abc-123" not in scraped
