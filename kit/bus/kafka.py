"""Kafka adapter (aiokafka): an idempotent producer with acks=all, and one consumer per subscription that
commits an event's offset only after its handler succeeded or parked it on the dead-letter topic.

URL: `kafka://host:9092[,host2:9092][?partitions=3&replication=1]`; topics are created on first use
with those settings (events of one key always land on one partition, so their order holds). A consumer that
loses the broker (at start, or a refused commit) stops and restarts with backoff, from its last commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from functools import partial
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from kit import tracing
from kit.bus import (
    DEAD_LETTER_SUFFIX,
    DEFAULT_RETRY,
    Consumers,
    Event,
    HandledIds,
    Handler,
    Retry,
    handle_with_retry,
)

log = logging.getLogger(__name__)


class KafkaBus:
    def __init__(self, url: str, *, client_id: str = "commerce", retry: Retry = DEFAULT_RETRY) -> None:
        parts = urlsplit(url)
        options = parse_qs(parts.query)
        self._servers = parts.netloc
        self._client_id = client_id
        self._partitions = int(options.get("partitions", ["3"])[0])
        self._replication = int(options.get("replication", ["1"])[0])
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            request_timeout_ms=15_000,
        )
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self._servers, client_id=f"{client_id}-admin")
        self._known_topics: set[str] = set()
        self._retry = retry
        self._consumers = Consumers(retry, lag=self._lag)
        # Running consumers, by group, with the offsets they committed since they started.
        self._live: dict[str, tuple[AIOKafkaConsumer, dict[TopicPartition, int]]] = {}

    async def publish(self, event: Event) -> None:
        await self._ensure_topics([event.topic])
        with tracing.producing(event) as headers:
            await self._producer.send_and_wait(
                event.topic,
                event.to_wire(),
                key=event.key.encode(),
                headers=[(name, value.encode()) for name, value in headers.items()],
            )

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        self._consumers.start(group, partial(self._consume, group, list(topics), handler, HandledIds()))

    async def _consume(self, group: str, topics: list[str], handler: Handler, handled: HandledIds) -> None:
        await self._ensure_topics(topics + [t + DEAD_LETTER_SUFFIX for t in topics])
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self._servers,
            group_id=group,
            client_id=f"{self._client_id}-{group}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await consumer.start()
        self._consumers.running(group)
        committed: dict[TopicPartition, int] = {}
        self._live[group] = (consumer, committed)
        try:
            async for message in consumer:
                try:
                    event = Event.from_wire(
                        message.topic, (message.key or b"").decode(), message.value or b"", _headers(message)
                    )
                except ValueError:
                    log.exception("undecodable message skipped", extra={"topic": message.topic})
                else:
                    await handle_with_retry(self, group, event, handler, handled, self._retry)
                partition = TopicPartition(message.topic, message.partition)
                await consumer.commit({partition: message.offset + 1})
                committed[partition] = message.offset + 1
        finally:
            self._live.pop(group, None)
            await consumer.stop()

    async def _lag(self) -> dict[tuple[str, str], int]:
        """Each group's lag from what its consumer knows: the partitions' high watermarks (from its last
        fetch) less its commits (or, before its first, the position it resumed from).
        """
        lag: dict[tuple[str, str], int] = {}
        for group, (consumer, committed) in list(self._live.items()):
            for partition in consumer.assignment():
                end = consumer.highwater(partition)
                if end is None:
                    continue
                done = committed.get(partition)
                if done is None:
                    done = await consumer.position(partition)
                key = (group, partition.topic)
                lag[key] = lag.get(key, 0) + max(0, end - done)
        return lag

    async def _ensure_topics(self, topics: list[str]) -> None:
        missing = [t for t in topics if t not in self._known_topics]
        if not missing:
            return
        new = [
            NewTopic(t, num_partitions=self._partitions, replication_factor=self._replication)
            for t in missing
        ]
        with contextlib.suppress(TopicAlreadyExistsError):
            response = await self._admin.create_topics(new)
            for topic, code, *_ in getattr(response, "topic_errors", ()):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"cannot create topic {topic}: error {code}")
        self._known_topics.update(missing)

    async def ping(self) -> None:
        if not await self._producer.client.force_metadata_update():
            raise ConnectionError(f"no Kafka broker answers at {self._servers}")

    def down_consumers(self) -> dict[str, str]:
        return dict(self._consumers.down)

    async def topics(self) -> list[str]:
        return sorted(await self._admin.list_topics())

    async def read(self, topic: str) -> list[Event]:
        """Every partition from its beginning to its end as of now, without a group (nothing committed)."""
        reader = AIOKafkaConsumer(
            bootstrap_servers=self._servers,
            client_id=f"{self._client_id}-reader",
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await reader.start()
        try:
            if topic not in await reader.topics():
                return []
            # The producer waits for the topic's partitions to have leaders (a new topic may have none yet).
            numbers = sorted(await self._producer.partitions_for(topic))
            partitions = [TopicPartition(topic, p) for p in numbers]
            reader.assign(partitions)
            await reader.seek_to_beginning(*partitions)
            ends = await reader.end_offsets(partitions)
            events: list[Event] = []
            for partition in partitions:
                while await reader.position(partition) < ends[partition]:
                    batch = await reader.getmany(partition, timeout_ms=1000)
                    for message in batch.get(partition, []):
                        if message.offset < ends[partition]:
                            key = (message.key or b"").decode()
                            events.append(
                                Event.from_wire(topic, key, message.value or b"", _headers(message))
                            )
            return sorted(events, key=lambda e: e.timestamp)
        finally:
            await reader.stop()

    async def __aenter__(self) -> Self:
        await self._producer.start()
        await self._admin.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._consumers.stop()
        await self._producer.stop()
        await self._admin.close()


def _headers(message: Any) -> dict[str, str]:
    """A message's headers as text (ours are); one that is not UTF-8 is dropped, not fatal."""
    headers: dict[str, str] = {}
    for name, value in message.headers or ():
        with contextlib.suppress(UnicodeDecodeError):
            headers[name] = bytes(value).decode()
    return headers
