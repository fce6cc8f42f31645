"""The event bus port: domain events broadcast between services (Kafka in production).

Delivery is at least once. A consumer group sees each topic's events in order per key; an event is
committed only after its handler succeeded, retried with backoff, or parked on `<topic>.dlq`, so
nothing is dropped. Handlers must be idempotent; `HandledIds` removes the common duplicates.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

log = logging.getLogger(__name__)

DEAD_LETTER_SUFFIX = ".dlq"


class Event(BaseModel):
    """The envelope on the wire: `{id, type, payload, timestamp, sourceService}`, keyed by aggregate id."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str
    payload: dict[str, Any]
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source_service: str
    topic: str = Field(exclude=True)
    key: str = Field(exclude=True)

    def to_wire(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_wire(cls, topic: str, key: str, data: bytes) -> Event:
        fields = json.loads(data)
        if not isinstance(fields, dict):
            raise ValueError("event envelope must be a JSON object")
        return cls.model_validate({**fields, "topic": topic, "key": key})


Handler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    """Publish events; subscribe a consumer group's handler to topics. Adapters are async context managers."""

    async def publish(self, event: Event) -> None:
        """Return once the bus has durably accepted the event (raise otherwise)."""

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        """Start consuming `topics` as `group` until the bus closes."""

    async def ping(self) -> None:
        """Raise if the bus cannot be reached (readiness)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


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


async def handle_with_retry(
    bus: EventBus,
    group: str,
    event: Event,
    handler: Handler,
    handled: HandledIds,
    *,
    attempts: int = 5,
    base_delay: float = 0.2,
) -> None:
    """Run `handler` once per event id, retrying with backoff, then park the event on the dead-letter topic.

    Returns only when the event may be committed; cancellation propagates (the event is then redelivered).
    """
    if event.id in handled:
        return
    for attempt in range(1, attempts + 1):
        try:
            await handler(event)
            break
        except Exception as exc:
            if attempt == attempts:
                log.exception(
                    "event handler failed; parking event", extra={"eventId": event.id, "group": group}
                )
                await bus.publish(dead_letter(event, group, exc))
                break
            await asyncio.sleep(base_delay * 2 ** (attempt - 1))
    handled.add(event.id)


def dead_letter(event: Event, group: str, exc: BaseException) -> Event:
    """The event as it goes to `<topic>.dlq`, with what failed, so an operator can replay it."""
    return Event(
        type=event.type,
        payload={"event": event.model_dump(mode="json", by_alias=True), "group": group, "error": repr(exc)},
        source_service=event.source_service,
        topic=event.topic + DEAD_LETTER_SUFFIX,
        key=event.key,
    )


def open_bus(url: str, *, client_id: str = "commerce") -> EventBus:
    """The adapter for `url`: `memory://[name]` (in-process) or `kafka://host:port[,host:port]`."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from kit.bus.memory import MemoryBus

        return MemoryBus(url)
    if scheme == "kafka":
        from kit.bus.kafka import KafkaBus  # aiokafka stays an optional extra

        return KafkaBus(url, client_id=client_id)
    raise ValueError(f"unsupported BUS_URL scheme {scheme!r}")
