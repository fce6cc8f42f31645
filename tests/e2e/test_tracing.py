"""One order through the gateway is one connected trace: the gateway's `POST /orders`, the orders service,
its SQL, the saga's workflow and every activity, the products service's stock call, and the order event
from the outbox's publish to its consumer. Everything runs in this process, so one in-memory exporter
sees every span.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from opentelemetry import propagate
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contracts import orders
from kit import tracing
from kit.bus import Event, open_bus
from tests.e2e.conftest import ADDRESS, Shop, open_shop
from tests.support import embedded_settings, eventually
from workflows import place_order

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

STEPS = ("reserve_stock", "charge_payment", "set_order_status", "clear_cart")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def traced(
    own_temporal: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Shop, InMemorySpanExporter]]:
    """The platform, traced into memory from its start (the Temporal clients take the interceptor when
    they connect); tracing is off again afterwards.
    """
    exporter = InMemorySpanExporter()
    tracing.setup_tracing("commerce", embedded_settings(tmp_path_factory.mktemp("unused")), exporter=exporter)
    try:
        async with open_shop(own_temporal, tmp_path_factory.mktemp("platform")) as shop:
            yield shop, exporter
    finally:
        tracing.stop_tracing()


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


def orphans(spans: list[ReadableSpan]) -> list[tuple[str, int]]:
    """Spans whose parent is not (yet) among `spans`: the tree is not connected, or a span is still open."""
    ids = {s.context.span_id for s in spans}
    return [(s.name, s.parent.span_id) for s in spans if s.parent and s.parent.span_id not in ids]


def service_of(span: ReadableSpan) -> object:
    return (span.attributes or {}).get(tracing.SERVICE_ATTRIBUTE)


async def test_one_order_is_one_connected_trace(traced: tuple[Shop, InMemorySpanExporter]) -> None:
    shop, exporter = traced
    _, variant_id = await shop.product(stock=5, price="12.50")
    cart = (await shop.http.post("/carts")).json()
    added = await shop.http.post(f"/carts/{cart['id']}/items", json={"variantId": variant_id, "quantity": 1})
    assert added.status_code == 200, added.text

    heard: list[Event] = []

    async def hear(event: Event) -> None:
        heard.append(event)

    async with open_bus(shop.settings.bus_url) as bus:
        bus.subscribe(f"tracing-test-{uuid.uuid4().hex[:8]}", [orders.ORDER_EVENTS], hear)
        with tracing.tracer().start_as_current_span("shop client") as client:
            headers: dict[str, str] = {}
            propagate.inject(headers)
            response = await shop.http.post(
                "/orders",
                headers=headers,
                json={
                    "cartId": cart["id"],
                    "shippingAddress": ADDRESS,
                    "phone": "0612345678",
                    "paymentMethod": "CREDIT_CARD",
                    "paymentToken": "tok_visa",
                    "guestEmail": "tracy@example.com",
                    "guestName": "Tracy",
                },
            )
        assert response.status_code == 201, response.text
        order_id = response.json()["id"]
        trace_id = client.get_span_context().trace_id

        def ours() -> list[ReadableSpan]:
            return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]

        def names() -> set[str]:
            return {s.name for s in ours()}

        await eventually(lambda: any(e.payload.get("id") == order_id for e in heard), within=30)
        await eventually(lambda: f"consume {orders.ORDER_EVENTS}" in names(), within=30)
        await eventually(lambda: {f"RunActivity:{step}" for step in STEPS} <= names(), within=30)

        # Every consumer of the event (the notifications' too) has ended its span: none is left open.
        await eventually(lambda: not orphans(ours()), within=30)

    spans = ours()
    roots = [s for s in spans if s.parent is None]
    assert [r.name for r in roots] == ["shop client"]
    assert orphans(spans) == []
    by_service = {service_of(s) for s in spans if s.kind.name == "SERVER"}
    assert {"gateway", "orders", "products", "carts"} <= by_service
    found = names()
    assert {f"StartWorkflow:{place_order.WORKFLOW}", f"RunWorkflow:{place_order.WORKFLOW}"} <= found
    assert {f"StartActivity:{step}" for step in STEPS} <= found
    assert any(n.startswith(("INSERT", "UPDATE", "SELECT")) for n in found)  # SQL, in the services
    assert f"publish {orders.ORDER_EVENTS}" in found
    publish = next(s for s in spans if s.name == f"publish {orders.ORDER_EVENTS}")
    consume = next(s for s in spans if s.name == f"consume {orders.ORDER_EVENTS}")
    assert parent_of(consume) == publish.context.span_id
    print(f"{len(spans)} spans in one trace:", sorted(found))  # noqa: T201  # seen with -s
