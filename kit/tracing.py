"""OpenTelemetry traces: one connected trace from a client's request through the gateway, the services,
their SQL, the Temporal workflows and activities it started, to the events it caused and their handlers.

`setup_tracing(service, settings)` installs the process's tracer provider when a setting asks for one:
`OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP over HTTP, batched) or `COMMERCE_TRACES_CONSOLE=true` (one line a span
on stderr, for development). Otherwise nothing is instrumented and every hook here is a no-op, so tracing
off costs a branch. The provider is the kit's own, not OpenTelemetry's global one, so that a test can
install an in-memory exporter and take it away again.

What carries the context across each boundary:
- HTTP: the FastAPI (server), httpx and aiohttp (client) instrumentations, as W3C `traceparent`/`baggage`.
- Temporal: the SDK's `TracingInterceptor`, in workflow and activity headers.
- The bus: `Event.headers` (Kafka message headers, a column of the embedded bus), written by `producing`,
  read by `consuming`, whose span is the producer's child.
- The outbox: the context of the transaction that wrote a row (`carrier()`), kept in the row, resumed by the
  relay when it delivers (`resumed`), so a publish seconds later still belongs to the request.

The request id travels as baggage (`REQUEST_ID_BAGGAGE`), so that a worker's or a consumer's log lines
name the request that caused them (kit.logs).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from kit import logs

if TYPE_CHECKING:
    import aiohttp
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from sqlalchemy.ext.asyncio import AsyncEngine
    from temporalio.client import Interceptor

    from kit.bus import Event
    from kit.settings import Settings

log = logging.getLogger(__name__)

REQUEST_ID_BAGGAGE = logs.REQUEST_ID_BAGGAGE
SERVICE_ATTRIBUTE = "commerce.service"  # the service a span ran in: one process may run them all
UNTRACED_PATHS = "/health,/ready,/metrics"  # probes and scrapes: noise in every trace backend
_NOOP_TRACER = trace.NoOpTracer()

_provider: TracerProvider | None = None


def setup_tracing(service_name: str, settings: Settings, *, exporter: SpanExporter | None = None) -> bool:
    """Install this process's tracer provider when the settings (or a test's `exporter`, exported to as
    each span ends) ask for one; returns whether tracing is on. A second call replaces the first.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    processors: list[Any] = []
    if exporter is not None:
        processors.append(SimpleSpanProcessor(exporter))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        processors.append(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.traces_console:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        console = ConsoleSpanExporter(out=sys.stderr, formatter=console_line)
        processors.append(SimpleSpanProcessor(console))
    stop_tracing()
    if not processors:
        return False
    global _provider
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.traces_sample_ratio)),
    )
    provider.add_span_processor(_service_stamp())
    for processor in processors:
        provider.add_span_processor(processor)
    _provider = provider
    log.info(
        "tracing on",
        extra={"otlp": settings.otlp_endpoint, "console": settings.traces_console, "test": bool(exporter)},
    )
    return True


def stop_tracing() -> None:
    """Flush and remove the provider: what is instrumented from now on is not."""
    global _provider
    if _provider is not None:
        provider, _provider = _provider, None
        provider.shutdown()


def enabled() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    return _NOOP_TRACER if _provider is None else _provider.get_tracer("commerce")


def _service_stamp() -> SpanProcessor:
    """Names on each span the service it ran in (kit.logs' `service_var`), for a process running several."""
    from opentelemetry.sdk.trace import SpanProcessor

    class ServiceStamp(SpanProcessor):
        def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
            if service := logs.service_var.get():
                span.set_attribute(SERVICE_ATTRIBUTE, service)

    return ServiceStamp()


def name_service(service: str) -> None:
    """Name on the current span (a request's server span) the service answering, and its request id."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(SERVICE_ATTRIBUTE, service)


def console_line(span: ReadableSpan) -> str:
    """One readable line a span: `trace <trace id> span <id> < <parent> <name> <ms> [service] [status]`."""
    ctx = span.get_span_context()
    trace_id = format(ctx.trace_id, "032x") if ctx else "?"
    span_id = format(ctx.span_id, "016x") if ctx else "?"
    parent = format(span.parent.span_id, "016x") if span.parent else "-" * 16
    ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    service = (span.attributes or {}).get(SERVICE_ATTRIBUTE) or span.resource.attributes.get("service.name")
    status = "" if span.status.is_ok else f" {span.status.status_code.name}"
    return f"trace {trace_id} span {span_id} < {parent} {span.name} {ms:.1f}ms [{service}]{status}\n"


# Instrumenting what crosses a process ----------------------------------------------------------------


def instrument_app(app: FastAPI) -> None:
    """A server span for each request (its parent the caller's `traceparent`), probes left out."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls=UNTRACED_PATHS, exclude_spans=["receive", "send"]
    )


def instrument_httpx(client: httpx.AsyncClient) -> None:
    """A client span for each call, its context sent along."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_provider)


def aiohttp_trace_configs() -> list[aiohttp.TraceConfig]:
    """The gateway's upstream pool: a client span for each forwarded request, its context sent along."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    return [create_trace_config(tracer_provider=_provider)]


def temporal_interceptors() -> list[Interceptor]:
    """Spans for workflow starts, signals, runs and activities, the context carried in Temporal's headers
    (a client's interceptor is also its workers').
    """
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer())]


def instrument_engine(engine: AsyncEngine) -> None:
    """A client span for each SQL statement: its verb and table in the name, the statement (parameters
    left out) as `db.statement`.
    """
    if _provider is None:
        return
    from sqlalchemy import event

    sync_engine, system = engine.sync_engine, engine.dialect.name
    database = engine.url.database or ""
    target = PurePath(database).stem or system  # `orders` of orders.db and of postgresql://…/orders
    spans = tracer()

    def before(_conn: Any, _cursor: Any, statement: str, _params: Any, ctx: Any, _many: bool) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        ctx._commerce_span = spans.start_span(
            f"{verb} {target}",
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.name": database, "db.statement": statement[:2000]},
        )

    def after(_conn: Any, _cursor: Any, _statement: str, _params: Any, ctx: Any, _many: bool) -> None:
        if span := getattr(ctx, "_commerce_span", None):
            span.end()

    def failed(exception_context: Any) -> None:
        ctx = exception_context.execution_context
        if span := getattr(ctx, "_commerce_span", None):
            span.record_exception(exception_context.original_exception)
            span.set_status(Status(StatusCode.ERROR, repr(exception_context.original_exception)[:200]))
            span.end()

    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    event.listen(sync_engine, "handle_error", failed)


# Context in messages: the bus and the outbox -------------------------------------------------------


def carrier() -> dict[str, str]:
    """The current context (trace and baggage) as headers; empty when there is none to pass on."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def with_request_id(request_id: str) -> context.Context:
    """The current context with `request_id` as baggage, for what the request causes elsewhere."""
    return baggage.set_baggage(REQUEST_ID_BAGGAGE, request_id)


@contextlib.contextmanager
def _continuing(headers: Mapping[str, str] | None) -> Iterator[None]:
    """Run the block in the context `headers` carry (their trace, their request id)."""
    token = context.attach(propagate.extract(dict(headers or {})))
    try:
        yield
    finally:
        context.detach(token)


@contextlib.contextmanager
def resumed(headers: Mapping[str, str] | None, name: str, **attributes: Any) -> Iterator[None]:
    """Run the block in a span continuing the context `headers` carry (an outbox row's): what it sends
    belongs to the trace that wrote the row.
    """
    with _continuing(headers):
        if _provider is None:
            yield
            return
        with tracer().start_as_current_span(name, attributes=attributes):
            yield


@contextlib.contextmanager
def producing(event: Event) -> Iterator[dict[str, str]]:
    """A producer span for publishing `event`; yields the headers to send with it: the event's own, with
    the current context (this span's, or with tracing off the request id's baggage) over them.
    """
    headers = dict(event.headers)
    if _provider is None:
        propagate.inject(headers)
        yield headers
        return
    attributes = {
        "messaging.system": "commerce",
        "messaging.destination.name": event.topic,
        "messaging.message.id": event.id,
        "messaging.message.type": event.type,
    }
    with tracer().start_as_current_span(
        f"publish {event.topic}", kind=SpanKind.PRODUCER, attributes=attributes
    ):
        propagate.inject(headers)
        yield headers


@contextlib.contextmanager
def consuming(event: Event, group: str) -> Iterator[None]:
    """Handle `event` in the context it was published in: a consumer span in `group`, child of the
    producer's span (its retries happen inside it), and the request id of the request that caused it.
    """
    with _continuing(event.headers):
        if _provider is None:
            yield
            return
        attributes = {
            "messaging.system": "commerce",
            "messaging.destination.name": event.topic,
            "messaging.consumer.group.name": group,
            "messaging.message.id": event.id,
            "messaging.message.type": event.type,
        }
        with tracer().start_as_current_span(
            f"consume {event.topic}", kind=SpanKind.CONSUMER, attributes=attributes
        ):
            yield
