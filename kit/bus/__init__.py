"""The event bus port: domain events broadcast between services (Kafka in production).

Delivery is at least once. A consumer group sees each topic's events in order per key; an event is
committed only after its handler succeeded, retried with backoff, or parked on `<topic>.dlq`, so
nothing is dropped. Handlers must be idempotent; `HandledIds` removes the common duplicates.
A consumer that fails (the bus unreachable, a commit refused) restarts with backoff; `down_consumers()`
tells readiness which are not running meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable
from urllib.parse import urlsplit

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer
from pydantic.alias_generators import to_camel
from sqlalchemy import exc as sa_exc

from kit import metrics, tracing
from kit.errors import AppError

log = logging.getLogger(__name__)

DEAD_LETTER_SUFFIX = ".dlq"
# A PostgreSQL that is starting, stopping or gone, as asyncpg tells it (wrapped or not by SQLAlchemy).
UNAVAILABLE = (asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError, asyncpg.InterfaceError)


class Event(BaseModel):
    """The envelope on the wire: `{id, type, payload, timestamp, sourceService[, version]}`, keyed by
    aggregate id. `version` grows with each change of that aggregate, so a consumer can drop a late event.
    `headers` travel beside the envelope, not in it (Kafka's message headers): the trace context.
    """

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str
    payload: dict[str, Any]
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source_service: str
    version: int | None = None
    topic: str = Field(exclude=True)
    key: str = Field(exclude=True)
    headers: dict[str, str] = Field(default_factory=dict, exclude=True)

    @model_serializer(mode="wrap")
    def _without_missing_version(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`version` (of the aggregate named by `key`) appears only when set: the seed's shape otherwise."""
        data: dict[str, Any] = dump(self)
        if self.version is None:
            data.pop("version", None)
        return data

    def to_wire(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_wire(cls, topic: str, key: str, data: bytes, headers: Mapping[str, str] | None = None) -> Event:
        fields = json.loads(data)
        if not isinstance(fields, dict):
            raise ValueError("event envelope must be a JSON object")
        return cls.model_validate({**fields, "topic": topic, "key": key, "headers": dict(headers or {})})


Handler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    """Publish events; subscribe a consumer group's handler to topics. Adapters are async context managers."""

    async def publish(self, event: Event) -> None:
        """Return once the bus has durably accepted the event (raise otherwise)."""

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        """Start consuming `topics` as `group` until the bus closes."""

    async def ping(self) -> None:
        """Raise if the bus cannot be reached (readiness)."""

    def down_consumers(self) -> dict[str, str]:
        """The consumers not running now (failed, waiting to restart), with their last error."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Memberships:
    """One active member per (group, topic) in this process; a second one waits, as an idle Kafka consumer
    of a fully assigned group would.
    """

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, group: str, topic: str) -> AsyncIterator[None]:
        async with self._locks.setdefault((group, topic), asyncio.Lock()):
            yield


class HandledIds:
    """A bounded memory of handled event ids, to drop redeliveries cheaply."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


@dataclass(frozen=True)
class Retry:
    """How long a failing handler is retried before its event is parked, and how a failed consumer backs
    off before restarting. The defaults add up to about 80 s, enough to ride out a broker or database restart.
    """

    attempts: int = 10
    base_delay: float = 0.2
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failure number `attempt` (1, 2, ...): doubling, capped at `max_delay`."""
        return float(min(self.max_delay, self.base_delay * 2 ** min(attempt - 1, 32)))


DEFAULT_RETRY = Retry()


async def handle_with_retry(
    bus: EventBus,
    group: str,
    event: Event,
    handler: Handler,
    handled: HandledIds,
    retry: Retry = DEFAULT_RETRY,
) -> None:
    """Run `handler` once per event id, retrying with backoff, then park the event on the dead-letter topic.
    A handler that failed because what it needs is `unavailable` is retried until that is back: the outage
    is not the event's fault, and parking every event of a database restart would leave them to an operator.

    Returns only when the event may be committed; cancellation propagates (the event is then redelivered),
    and so does a failure to park it (the consumer restarts and the event comes again). A parked event is
    not remembered as handled, so that replaying it (same id) runs the handler again.
    """
    if event.id in handled:
        return
    with tracing.consuming(event, group):
        await _with_retry(bus, group, event, handler, handled, retry)


async def _with_retry(
    bus: EventBus, group: str, event: Event, handler: Handler, handled: HandledIds, retry: Retry
) -> None:
    attempt = waits = 0
    while True:
        try:
            await handler(event)
        except Exception as exc:
            if unavailable(
                exc
            ):  # not the event's fault: wait for what the handler needs, as long as it takes
                waits += 1
                log.warning("event handler waits: %s", exc, extra={"eventId": event.id, "group": group})
                await asyncio.sleep(retry.delay(waits))
                continue
            attempt += 1
            if attempt >= retry.attempts:
                log.exception(
                    "event handler failed; parking event", extra={"eventId": event.id, "group": group}
                )
                await bus.publish(dead_letter(event, group, exc))
                metrics.DEAD_LETTERS.labels(group, event.topic).inc()
                return
            await asyncio.sleep(retry.delay(attempt))
        else:
            handled.add(event.id)
            return


def unavailable(exc: BaseException) -> bool:
    """Whether `exc`, or what caused it, is a connection that failed (refused, reset, timed out), a database
    that cannot serve yet, or a service that is down: an outage to wait for, not an event the handler
    cannot take (that one is parked after its attempts).
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (OSError, *UNAVAILABLE)) or (
            isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated
        ):
            return True
        if isinstance(seen, AppError) and seen.status_code in (502, 503, 504):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


Lag = Callable[[], Awaitable[dict[tuple[str, str], int]]]
"""A bus's consumer lag now: events not yet committed, by (group, topic) of its subscriptions."""


class Consumers:
    """A bus's consumer tasks. Each restarts with backoff when it fails instead of dying with its task;
    `down` names those not running meanwhile, for readiness. While any runs, each scrape of the metrics
    reads their `lag`.
    """

    def __init__(self, retry: Retry, lag: Lag | None = None) -> None:
        self._retry = retry
        self._tasks: set[asyncio.Task[None]] = set()
        self.down: dict[str, str] = {}
        self._lag = lag
        self._sampling = contextlib.ExitStack()

    async def _sample_lag(self) -> None:
        if self._lag is not None:
            for (group, topic), behind in (await self._lag()).items():
                metrics.CONSUMER_LAG.labels(group, topic).set(behind)

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run `run()` until the bus closes; it calls `running(name)` once it consumes."""
        if not self._tasks:
            self._sampling.enter_context(metrics.refreshing(self._sample_lag))
        task = asyncio.create_task(self._supervise(name, run), name=f"bus:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def running(self, name: str) -> None:
        self.down.pop(name, None)

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await run()
                raise RuntimeError("the consumer returned")
            except Exception as exc:
                # A consumer that ran a while before failing starts its backoff over.
                long_run = time.monotonic() - started > self._retry.max_delay
                failures = 1 if long_run else failures + 1
                delay = self._retry.delay(failures)
                self.down[name] = f"{exc!r}; restart {failures} in {delay:.1f}s"[:300]
                log.exception("bus consumer failed; restarting", extra={"consumer": name, "delay": delay})
                await asyncio.sleep(delay)

    async def stop(self) -> None:
        self._sampling.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def dead_letter(event: Event, group: str, exc: BaseException) -> Event:
    """The event as it goes to `<topic>.dlq`, with what failed, so an operator can replay it."""
    return Event(
        type=event.type,
        payload={"event": event.model_dump(mode="json", by_alias=True), "group": group, "error": repr(exc)},
        source_service=event.source_service,
        topic=event.topic + DEAD_LETTER_SUFFIX,
        key=event.key,
    )


def original(dead: Event) -> Event:
    """The event a dead letter carries, as it was first published (same id, topic and key)."""
    return Event.model_validate(
        {**dead.payload["event"], "topic": dead.topic.removesuffix(DEAD_LETTER_SUFFIX), "key": dead.key}
    )


@runtime_checkable
class TopicReader(Protocol):
    """What operators read (the `commerce events dlq` commands): topic names and a topic's whole log."""

    async def topics(self) -> list[str]: ...

    async def read(self, topic: str) -> list[Event]:
        """Every event `topic` holds now, oldest first, committing nothing."""


def open_bus(url: str, *, client_id: str = "commerce", retry: Retry = DEFAULT_RETRY) -> EventBus:
    """The adapter for `url`: `memory://[name]` (in-process), `sqlite:///path` (embedded, durable) or
    `kafka://host:port[,host:port]`.
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from kit.bus.memory import MemoryBus

        return MemoryBus(url, retry=retry)
    if scheme == "sqlite":
        from kit.bus.sqlite import SqliteBus

        return SqliteBus(url, retry=retry)
    if scheme == "kafka":
        from kit.bus.kafka import KafkaBus  # on demand: a process loads only its clients

        return KafkaBus(url, client_id=client_id, retry=retry)
    raise ValueError(f"unsupported BUS_URL scheme {scheme!r}")
