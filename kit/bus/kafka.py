"""Kafka adapter (aiokafka): an idempotent producer with acks=all, and one consumer per subscription that
commits an event's offset only after its handler succeeded or parked it on the dead-letter topic.

URL: `kafka://host:9092[,host2:9092][?partitions=3&replication=1]`; topics are created on first use
with those settings (events of one key always land on one partition, so their order holds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from kit.bus import DEAD_LETTER_SUFFIX, Event, HandledIds, Handler, handle_with_retry

log = logging.getLogger(__name__)


class KafkaBus:
    def __init__(self, url: str, *, client_id: str = "commerce") -> None:
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
        self._consumers: set[asyncio.Task[None]] = set()

    async def publish(self, event: Event) -> None:
        await self._ensure_topics([event.topic])
        await self._producer.send_and_wait(event.topic, event.to_wire(), key=event.key.encode())

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        task = asyncio.create_task(self._consume(group, list(topics), handler), name=f"bus:{group}")
        self._consumers.add(task)
        task.add_done_callback(self._consumers.discard)

    async def _consume(self, group: str, topics: list[str], handler: Handler) -> None:
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
        handled = HandledIds()
        try:
            async for message in consumer:
                try:
                    event = Event.from_wire(
                        message.topic, (message.key or b"").decode(), message.value or b""
                    )
                except ValueError:
                    log.exception("undecodable message skipped", extra={"topic": message.topic})
                else:
                    await handle_with_retry(self, group, event, handler, handled)
                partition = TopicPartition(message.topic, message.partition)
                await consumer.commit({partition: message.offset + 1})
        finally:
            await consumer.stop()

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

    async def __aenter__(self) -> Self:
        await self._producer.start()
        await self._admin.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in list(self._consumers):
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        await self._producer.stop()
        await self._admin.close()
