"""Tracing (kit.tracing): the context crosses the bus in message headers and the outbox in its rows, and
every log line names its trace, span and request.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from kit import db, tracing
from kit.bus import Event, open_bus
from kit.logs import JsonFormatter, request_id_var, trace_ids
from kit.outbox import OutboxRelay, record_event
from kit.settings import Settings
from tests.support import eventually, real_server_url, scratch_engine

OUTBOX_MIGRATIONS, OUTBOX_REVISION = Path(__file__).parents[2] / "apis/orders/migrations", "0001"


@pytest.fixture
def spans(settings: Settings) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.setup_tracing("tests", settings, exporter=exporter)
    yield exporter
    tracing.stop_tracing()


@pytest.fixture(params=["memory", "sqlite", pytest.param("kafka", marks=pytest.mark.integration)])
def bus_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "kafka":
        return real_server_url("COMMERCE_TEST_KAFKA_URL")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bus.db"
    return f"memory://{uuid.uuid4().hex}"


def thing(topic: str) -> Event:
    return Event(type="THING_HAPPENED", payload={}, source_service="tests", topic=topic, key="k")


class Seen:
    """What a handler saw: the event, its trace and span ids, and the request id of its log lines."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.ids: list[tuple[str | None, str | None]] = []
        self.lines: list[dict[str, object]] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        self.ids.append(trace_ids())
        record = logging.LogRecord("handler", logging.INFO, __file__, 1, "handled", None, None)
        self.lines.append(json.loads(JsonFormatter().format(record)))


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


def by_name(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


async def test_a_consumer_span_is_the_child_of_the_publisher_across_every_bus(
    spans: InMemorySpanExporter, bus_url: str
) -> None:
    topic, seen = f"traced_{uuid.uuid4().hex[:8]}", Seen()
    async with open_bus(bus_url) as bus:
        bus.subscribe(f"{topic}-group", [topic], seen)
        carried = otel_context.attach(tracing.with_request_id("req-42"))
        try:
            with tracing.tracer().start_as_current_span("request") as request:
                await bus.publish(thing(topic))
        finally:
            otel_context.detach(carried)
        await eventually(lambda: seen.events, within=30)
        await eventually(lambda: any(s.name == f"consume {topic}" for s in spans.get_finished_spans()))
    publish, consume = by_name(spans, f"publish {topic}"), by_name(spans, f"consume {topic}")
    trace_id = request.get_span_context().trace_id
    assert (publish.kind, consume.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    assert parent_of(publish) == request.get_span_context().span_id
    assert parent_of(consume) == publish.context.span_id
    assert {publish.context.trace_id, consume.context.trace_id} == {trace_id}
    assert "traceparent" in seen.events[0].headers  # on the wire: Kafka headers, the bus file's column
    assert seen.ids[0] == (format(trace_id, "032x"), format(consume.context.span_id, "016x"))
    assert seen.lines[0]["requestId"] == "req-42"  # the request that caused it, in the handler's logs
    assert seen.lines[0]["traceId"] == format(trace_id, "032x")
    assert (consume.attributes or {})["messaging.consumer.group.name"] == f"{topic}-group"


async def test_with_tracing_off_no_span_is_made_and_the_request_id_still_travels(bus_url: str) -> None:
    topic, seen = f"untraced_{uuid.uuid4().hex[:8]}", Seen()
    assert not tracing.enabled()
    async with open_bus(bus_url) as bus:
        bus.subscribe(f"{topic}-group", [topic], seen)
        carried = otel_context.attach(tracing.with_request_id("req-7"))
        try:
            await bus.publish(thing(topic))
        finally:
            otel_context.detach(carried)
        await eventually(lambda: seen.events, within=30)
    assert "traceparent" not in seen.events[0].headers
    assert seen.ids[0] == (None, None)
    assert seen.lines[0]["requestId"] == "req-7"


async def test_a_bus_file_from_before_headers_gains_their_column(tmp_path: Path) -> None:
    path = tmp_path / "old-bus.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
            "key TEXT NOT NULL, data BLOB NOT NULL, stored_at REAL NOT NULL)"
        )
        old.execute(
            "INSERT INTO events (topic, key, data, stored_at) VALUES ('t', 'k', ?, 1e12)",
            (thing("t").to_wire(),),
        )
    async with open_bus(f"sqlite:///{path}") as bus:
        await bus.publish(thing("t"))
        events = await bus.read("t")  # type: ignore[attr-defined]
    assert events[0].headers == {}
    assert len(events) == 2


async def test_an_outbox_row_is_delivered_in_the_trace_of_the_transaction_that_wrote_it(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    bus_url, topic, seen = f"memory://{uuid.uuid4().hex}", f"outboxed_{uuid.uuid4().hex[:8]}", Seen()
    async with (
        scratch_engine("sqlite", tmp_path, OUTBOX_MIGRATIONS, OUTBOX_REVISION) as engine,
        open_bus(bus_url) as bus,
    ):
        bus.subscribe(f"{topic}-group", [topic], seen)
        with tracing.tracer().start_as_current_span("request") as request:
            async with db.transaction(db.session_factory(engine)) as session:
                record_event(session, thing(topic))
        relay = OutboxRelay(engine, bus)
        assert await relay.deliver_pending() == 1  # later, in no request's context
        await eventually(lambda: seen.events, within=30)
        await eventually(lambda: any(s.name == f"consume {topic}" for s in spans.get_finished_spans()))
    deliver, publish = by_name(spans, "outbox deliver event"), by_name(spans, f"publish {topic}")
    consume = by_name(spans, f"consume {topic}")
    assert parent_of(deliver) == request.get_span_context().span_id
    assert parent_of(publish) == deliver.context.span_id
    assert parent_of(consume) == publish.context.span_id
    (insert,) = [
        s
        for s in spans.get_finished_spans()
        if "INSERT INTO outbox" in str((s.attributes or {}).get("db.statement"))
    ]
    assert parent_of(insert) == request.get_span_context().span_id


def test_every_json_line_names_its_request_trace_and_span(spans: InMemorySpanExporter) -> None:
    def line() -> dict[str, object]:
        record = logging.LogRecord("kit.test", logging.INFO, __file__, 1, "hello", None, None)
        parsed: dict[str, object] = json.loads(JsonFormatter().format(record))
        return parsed

    outside = line()
    assert {"requestId", "traceId", "spanId"} <= outside.keys()
    assert (outside["traceId"], outside["spanId"], outside["requestId"]) == (None, None, None)
    token = request_id_var.set("req-1")
    try:
        with tracing.tracer().start_as_current_span("work") as span:
            inside = line()
    finally:
        request_id_var.reset(token)
    assert inside["requestId"] == "req-1"
    assert inside["traceId"] == format(span.get_span_context().trace_id, "032x")
    assert inside["spanId"] == format(span.get_span_context().span_id, "016x")


def test_the_console_shows_one_line_a_span(spans: InMemorySpanExporter) -> None:
    with tracing.tracer().start_as_current_span("parent"), tracing.tracer().start_as_current_span("child"):
        pass
    child = by_name(spans, "child")
    line = tracing.console_line(child)
    assert line.count("\n") == 1
    assert " child " in line
    assert format(child.context.trace_id, "032x") in line


def test_tracing_is_off_unless_a_setting_asks(settings: Settings) -> None:
    assert not tracing.setup_tracing("tests", settings)
    assert not tracing.enabled()
    assert (tracing.temporal_interceptors(), tracing.aiohttp_trace_configs()) == ([], [])
    on = settings.model_copy(update={"otlp_endpoint": "http://127.0.0.1:9"})
    try:
        assert tracing.setup_tracing("tests", on)
        assert len(tracing.temporal_interceptors()) == 1
    finally:
        tracing.stop_tracing()
