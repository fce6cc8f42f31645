"""In-process event bus with Kafka's semantics: per-topic logs, consumer-group offsets committed after
the handler, one active member per group and topic. Events live as long as the process (tests; the
embedded platform uses the durable `sqlite://` bus).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from kit import tracing
from kit.bus import (
    DEFAULT_RETRY,
    Consumers,
    Event,
    HandledIds,
    Handler,
    Memberships,
    Retry,
    handle_with_retry,
)


@dataclass
class _Topic:
    events: list[Event] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


@dataclass
class MemoryBroker:
    """What a Kafka cluster would hold: the logs, the committed offsets and the group memberships."""

    topics: dict[str, _Topic] = field(default_factory=dict)
    offsets: dict[tuple[str, str], int] = field(default_factory=dict)
    members: Memberships = field(default_factory=Memberships)

    def topic(self, name: str) -> _Topic:
        return self.topics.setdefault(name, _Topic())


# Brokers are per event loop: asyncio primitives cannot cross loops, and "in-process" means one loop.
_brokers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, MemoryBroker]] = (
    weakref.WeakKeyDictionary()
)


def broker_for(url: str) -> MemoryBroker:
    """The broker named by `memory://<name>` in the running loop (the empty name is the default one)."""
    parts = urlsplit(url)
    name = parts.netloc + parts.path
    return _brokers.setdefault(asyncio.get_running_loop(), {}).setdefault(name, MemoryBroker())


class MemoryBus:
    """A client of an in-process broker; closing it cancels its consumers without committing."""

    def __init__(self, url: str = "memory://", *, retry: Retry = DEFAULT_RETRY) -> None:
        self._url = url
        self._broker: MemoryBroker | None = None
        self._retry = retry
        self._consumers = Consumers(retry, lag=self._lag)
        self._subscriptions: set[tuple[str, str]] = set()

    @property
    def broker(self) -> MemoryBroker:
        if self._broker is None:
            self._broker = broker_for(self._url)
        return self._broker

    async def publish(self, event: Event) -> None:
        topic = self.broker.topic(event.topic)
        with tracing.producing(event) as headers:
            async with topic.changed:
                topic.events.append(event.model_copy(update={"headers": headers}))
                topic.changed.notify_all()

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        handled = HandledIds()
        for name in topics:
            self._subscriptions.add((group, name))
            consumer = f"{group}:{name}"
            self._consumers.start(consumer, partial(self._consume, consumer, group, name, handler, handled))

    async def _consume(
        self, consumer: str, group: str, name: str, handler: Handler, handled: HandledIds
    ) -> None:
        broker, topic = self.broker, self.broker.topic(name)
        self._consumers.running(consumer)
        async with broker.members.hold(group, name):
            while True:
                offset = broker.offsets.get((group, name), 0)
                async with topic.changed:
                    await topic.changed.wait_for(lambda: len(topic.events) > offset)  # noqa: B023
                await handle_with_retry(self, group, topic.events[offset], handler, handled, self._retry)
                broker.offsets[(group, name)] = offset + 1

    async def _lag(self) -> dict[tuple[str, str], int]:
        broker = self.broker
        return {
            (group, name): len(broker.topic(name).events) - broker.offsets.get((group, name), 0)
            for group, name in self._subscriptions
        }

    async def ping(self) -> None:
        return None

    def down_consumers(self) -> dict[str, str]:
        return dict(self._consumers.down)

    async def topics(self) -> list[str]:
        return sorted(self.broker.topics)

    async def read(self, topic: str) -> list[Event]:
        return list(self.broker.topic(topic).events)

    async def __aenter__(self) -> Self:
        _ = self.broker
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._consumers.stop()
