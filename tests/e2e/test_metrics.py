"""One order through the gateway moves its metrics, read from `/metrics` as Prometheus reads them: the
gateway's and the orders service's request counters, the saga's outcome and the duration of each step."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.e2e.conftest import Shop, open_shop
from tests.support import eventually, free_port, sample

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

STEPS = ("reserve_stock", "charge_payment", "set_order_status")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(own_temporal: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    """The platform with the gateway's and the workers' metrics endpoint on a port of its own."""
    async with open_shop(
        own_temporal, tmp_path_factory.mktemp("platform"), metrics_port=free_port()
    ) as opened:
        yield opened


async def scrape(shop: Shop, service: str | None = None) -> str:
    """`/metrics` of the gateway and workers' endpoint, or of a service on its own port."""
    port = shop.settings.metrics_port if service is None else shop.settings.port_of(service)
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert answer.status_code == 200, answer.text
    return answer.text


def counts(text: str) -> dict[str, float]:
    """What one order should move, as read now."""
    steps = {
        step: sample(text, "commerce_activity_duration_seconds_count", activity=step, outcome="ok")
        for step in STEPS
    }
    return {
        "gateway": sample(
            text,
            "commerce_http_requests_total",
            service="gateway",
            method="POST",
            route="/orders",
            status="201",
        ),
        "orders": sample(
            text, "commerce_http_requests_total", service="orders", method="POST", route="/", status="201"
        ),
        "paid": sample(text, "commerce_saga_outcomes_total", workflow="PlaceOrderWorkflow", outcome="PAID"),
        **steps,
    }


async def test_one_paid_order_moves_its_request_saga_and_step_metrics(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=5)
    before = counts(await scrape(shop))

    placed = await shop.order(variant_id, paymentMethod="CREDIT_CARD", paymentToken="tok_visa")
    assert placed.status_code == 201, placed.text

    async def moved() -> bool:  # the saga counts its outcome once the orders service took the report
        after = counts(await scrape(shop))
        return all(after[key] >= before[key] + 1 for key in before)

    await eventually(moved, within=10)
    after = counts(await scrape(shop))
    assert after["gateway"] == before["gateway"] + 1
    assert after["paid"] == before["paid"] + 1
    text = await scrape(shop)
    step = {"task_queue": "orders", "activity": "charge_payment", "outcome": "ok"}
    assert sample(text, "commerce_activity_duration_seconds_sum", **step) > 0


async def test_a_declined_order_counts_as_failed_with_its_refusal(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=5)
    labels = {"outcome": "FAILED", "code": "PaymentDeclined"}
    before = sample(await scrape(shop), "commerce_saga_outcomes_total", **labels)
    declined = await shop.order(variant_id, paymentMethod="CREDIT_CARD", paymentToken="tok_declined")
    assert declined.status_code == 402, declined.text

    async def counted() -> bool:
        return sample(await scrape(shop), "commerce_saga_outcomes_total", **labels) == before + 1

    await eventually(counted, within=10)
    failed_step = {"activity": "charge_payment", "outcome": "PaymentDeclined"}
    assert sample(await scrape(shop), "commerce_activity_duration_seconds_count", **failed_step) >= 1


async def test_each_service_serves_its_metrics_on_its_own_port_and_never_through_the_gateway(
    shop: Shop,
) -> None:
    text = await scrape(shop, "orders")
    assert sample(text, "commerce_outbox_backlog", service="orders") >= 0
    assert "commerce_outbox_oldest_age_seconds" in text
    assert "commerce_bus_consumer_lag" in text
    through_gateway = await shop.http.get("/orders/metrics", headers=shop.admin)
    assert through_gateway.status_code == 404
    assert (await shop.http.get("/metrics")).status_code == 404
