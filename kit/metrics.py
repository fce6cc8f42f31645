"""Prometheus metrics: every metric of the platform defined once, here, in the process's one registry, and
the few hooks that feed and expose them.

- `instrument(app, service)`: requests, latency and errors per route template (`/orders/{order_id}`, never
  the raw path) and `GET /metrics` on a service's own port; the gateway (`edge=True`) keeps its public port
  free of both and serves its metrics on `metrics_port`, as the workers do (`serving`).
- `ActivityMetrics`: a Temporal interceptor timing every activity a worker runs (the saga's steps), so
  that workflow code stays free of side effects.
- `refreshing(sample)`: gauges read at scrape time (outbox backlog, consumer lag, stock drift): the query
  runs when Prometheus asks, not on a timer, and only while its owner is open.

One process (`commerce dev` runs every service and worker in one) has one registry and at most one
metrics endpoint per port: a metric is created once, at import, and labelled by service, route or queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio import activity, client, worker
from temporalio.exceptions import ApplicationError

log = logging.getLogger(__name__)

PATH = "/metrics"
ROUTE_HEADER = "x-commerce-route"  # a service's matched route template, read (and removed) by the gateway
UNMATCHED = "unmatched"  # the route label of a request no route matched: raw paths never become labels
_ROUTE_KEY = "commerce.route"
disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series beside every counter: twice the series, for nothing
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "commerce_http_requests",
    "HTTP requests answered, by service, method, route template and status.",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "commerce_http_request_duration_seconds",
    "Time to answer an HTTP request, by service, method and route template.",
    ["service", "method", "route"],
    buckets=_LATENCY_BUCKETS,
)
ACTIVITY_SECONDS = Histogram(
    "commerce_activity_duration_seconds",
    "Time of one activity attempt (a saga step), by task queue, activity and outcome (ok or error type).",
    ["task_queue", "activity", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
SAGA_OUTCOMES = Counter(
    "commerce_saga_outcomes",
    "Outcomes a saga reported (an order PAID, CONFIRMED, FAILED or CANCELLED), with the refusal's code.",
    ["workflow", "outcome", "code"],
)
SAGA_PARKED = Counter(
    "commerce_saga_parked_compensations",
    "Saga endings whose compensations failed and wait for an operator (retry_compensations).",
    ["workflow", "outcome"],
)
OUTBOX_BACKLOG = Gauge("commerce_outbox_backlog", "Outbox rows not yet delivered.", ["service"])
OUTBOX_PARKED = Gauge(
    "commerce_outbox_parked",
    "Outbox rows out of attempts, waiting for `commerce outbox replay`.",
    ["service"],
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "commerce_outbox_oldest_age_seconds", "Age of the oldest undelivered outbox row (0: none).", ["service"]
)
CONSUMER_LAG = Gauge(
    "commerce_bus_consumer_lag",
    "Events on a topic its consumer group has not committed yet.",
    ["group", "topic"],
)
DEAD_LETTERS = Counter(
    "commerce_bus_dead_letters",
    "Events parked on <topic>.dlq after their handler's last try.",
    ["group", "topic"],
)
RATE_LIMIT_REFUSALS = Counter(
    "commerce_rate_limit_refusals", "Requests refused with 429, by limit.", ["service", "limit"]
)
STOCK_DRIFT_VARIANTS = Gauge(
    "commerce_stock_reconcile_mismatched_variants",
    "Variants whose quantity differs from the sum of their stock movements, at the last reconcile.",
)
STOCK_DRIFT_UNITS = Gauge(
    "commerce_stock_reconcile_drift_units",
    "Units of stock by which quantities and ledgers disagree (summed), at the last reconcile.",
)
STOCK_RECONCILED_AT = Gauge(
    "commerce_stock_reconcile_timestamp_seconds", "When the stock last was reconciled (Unix time)."
)


# Gauges read at scrape time --------------------------------------------------------------------------


@dataclass(eq=False)
class _Refresher:
    sample: Callable[[], Awaitable[None]]
    every: float
    last: float = field(default=float("-inf"))


_refreshers: set[_Refresher] = set()
REFRESH_TIMEOUT = 5.0
# A sample's default spacing: one process running every service (embedded) shares one registry, so each
# service's scrape would otherwise query every relay's and consumer's backlog again.
SAMPLE_EVERY = 1.0


@contextlib.contextmanager
def refreshing(sample: Callable[[], Awaitable[None]], *, every: float = SAMPLE_EVERY) -> Iterator[None]:
    """While open, run `sample()` (which sets gauges) before each scrape, at most once per `every` seconds."""
    refresher = _Refresher(sample, every)
    _refreshers.add(refresher)
    try:
        yield
    finally:
        _refreshers.discard(refresher)


async def _refresh(refresher: _Refresher) -> None:
    now = time.monotonic()
    if now - refresher.last < refresher.every:
        return
    refresher.last = now
    try:
        async with asyncio.timeout(REFRESH_TIMEOUT):
            await refresher.sample()
    except Exception as exc:  # a gauge keeps its last value; the scrape still answers
        log.warning("metrics sample failed", extra={"sample": repr(refresher.sample), "error": repr(exc)})


async def exposition() -> bytes:
    """The registry in Prometheus' text format, its scrape-time gauges sampled first."""
    await asyncio.gather(*(_refresh(r) for r in list(_refreshers)))
    return generate_latest(REGISTRY)


async def metrics_endpoint(_request: Request) -> Response:
    return Response(await exposition(), media_type=CONTENT_TYPE_LATEST)


# HTTP -------------------------------------------------------------------------------------------------


def instrument(app: Any, service: str, *, edge: bool = False) -> None:
    """Count and time every request of `app` by route template. A service also answers `GET /metrics` and
    names its matched route in `x-commerce-route` for the gateway; the gateway (`edge`) does neither on its
    public port.
    """
    app.user_middleware.append(Middleware(_RouteCapture, announce=not edge))  # innermost: sees the route
    app.add_middleware(HttpMetrics, service=service)  # outermost: sees every answer, guards' refusals too
    if not edge:  # first, before a service's `/{order_id}` could take the path
        app.router.routes.insert(0, Route(PATH, metrics_endpoint, methods=["GET"], include_in_schema=False))


def name_route(scope: Scope, route: str) -> None:
    """Label the current request with `route` (the gateway: the upstream's template under its prefix)."""
    box = scope.get(_ROUTE_KEY)
    if isinstance(box, _Route):
        box.route = route


class _Route:
    __slots__ = ("route",)

    def __init__(self) -> None:
        self.route: str | None = None


class HttpMetrics:
    """Time the request; once answered, count it under the route template the router matched."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        box = scope[_ROUTE_KEY] = _Route()  # shared by the copies of the scope the guards make
        started, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route, method = box.route or UNMATCHED, scope["method"]
            HTTP_SECONDS.labels(self.service, method, route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()


class _RouteCapture:
    """Next to the router: note the route it matched (it sets `scope["route"]` on the scope it is given) as
    the answer starts, and, on a service, name it in `x-commerce-route`.
    """

    def __init__(self, app: ASGIApp, announce: bool) -> None:
        self.app = app
        self.announce = announce

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        box = scope.get(_ROUTE_KEY)
        if not isinstance(box, _Route):
            await self.app(scope, receive, send)
            return

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                template = getattr(scope.get("route"), "path", None)
                if box.route is None:
                    box.route = template
                if self.announce and template:
                    MutableHeaders(scope=message).append(ROUTE_HEADER, template)
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:  # an unhandled error answers (500) further out, past this send
            if box.route is None:
                box.route = getattr(scope.get("route"), "path", None)


# Workers ----------------------------------------------------------------------------------------------


class ActivityMetrics(client.Interceptor, worker.Interceptor):
    """Times every activity attempt of the workers of a client it is given to (`Client.connect(
    interceptors=...)`), local activities included, by queue, activity type and outcome.
    """

    def intercept_activity(
        self, next: worker.ActivityInboundInterceptor
    ) -> worker.ActivityInboundInterceptor:
        return _TimedActivity(next)


class _TimedActivity(worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: worker.ExecuteActivityInput) -> Any:
        info, started, outcome = activity.info(), time.perf_counter(), "ok"
        try:
            return await super().execute_activity(input)
        except BaseException as exc:
            outcome = outcome_of(exc)
            raise
        finally:
            seconds = time.perf_counter() - started
            ACTIVITY_SECONDS.labels(info.task_queue, info.activity_type, outcome).observe(seconds)


def outcome_of(exc: BaseException) -> str:
    """A bounded label for a failure: the refusal's type (`InsufficientStock`), else the exception's class."""
    if isinstance(exc, ApplicationError) and exc.type:
        return exc.type
    if isinstance(exc, asyncio.CancelledError):
        return "Cancelled"
    return type(exc).__name__


def record_saga_outcome(outcome: str, code: str | None, *, parked: bool) -> None:
    """From a saga's status-reporting activity: what the saga ended with (parked: its undo waits)."""
    workflow = activity.info().workflow_type if activity.in_activity() else ""
    if parked:
        SAGA_PARKED.labels(workflow, outcome).inc()
    else:
        SAGA_OUTCOMES.labels(workflow, outcome, code or "").inc()


# The endpoint of processes without a service port of their own (workers, the gateway) -----------------


class _QuietServer(uvicorn.Server):
    """Leaves signals to the process: it shares it with a platform, a worker or a service."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class _Endpoint:
    server: _QuietServer
    task: asyncio.Task[None]
    users: int = 0


_endpoints: dict[int, _Endpoint] = {}


async def _metrics_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == PATH:
        response = Response(await exposition(), media_type=CONTENT_TYPE_LATEST)
    else:
        response = Response(f"only {PATH} here", status_code=404)
    await response(scope, receive, send)


@contextlib.asynccontextmanager
async def serving(host: str, port: int | None) -> AsyncIterator[None]:
    """`GET /metrics` on `port` (none when None) while open; every user of one port in a process shares
    one server, which stops with the last of them.
    """
    if port is None:
        yield
        return
    endpoint = _endpoints.get(port)
    if endpoint is None:
        try:  # bound here, so that a port in use is an error to raise, not uvicorn's exit
            listening = socket.create_server((host, port), reuse_port=False)
        except OSError as exc:
            raise RuntimeError(f"the metrics endpoint cannot listen on {host}:{port}: {exc}") from exc
        config = uvicorn.Config(_metrics_app, lifespan="off", log_config=None, access_log=False)
        server = _QuietServer(config)
        task = asyncio.create_task(server.serve(sockets=[listening]), name=f"metrics:{port}")
        endpoint = _endpoints[port] = _Endpoint(server, task)
        log.info("metrics endpoint started", extra={"url": f"http://{host}:{port}{PATH}"})
    endpoint.users += 1
    try:
        yield
    finally:
        endpoint.users -= 1
        if endpoint.users == 0:
            del _endpoints[port]
            endpoint.server.should_exit = True
            await asyncio.gather(endpoint.task, return_exceptions=True)
