"""Operators' view of the dead-letter topics (`commerce events dlq list|replay`): what was parked, and
putting the original events back on their topic once the cause is fixed.

A replayed event keeps its id, topic and key, so every consumer group sees it again and the idempotent
handlers of groups that had applied it drop it. `memory://` lives inside each process: another process
(this command) sees none of its events.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from kit.bus import DEAD_LETTER_SUFFIX, Event, TopicReader, open_bus, original

IN_PROCESS_NOTE = (
    "memory:// keeps events inside the process that publishes them: its dead letters cannot be read from "
    "here and die with that process. Use the embedded durable bus (sqlite:///..., the default of "
    "`commerce dev`) or Kafka to keep and replay them."
)


@dataclass(frozen=True)
class Parked:
    """One dead letter: the event that failed, for which consumer group, and why."""

    dead: Event
    event: Event
    group: str
    error: str

    def line(self) -> str:
        e = self.event
        return f"{self.dead.topic}  id={e.id}  type={e.type}  key={e.key}  group={self.group}  {self.error}"


def dead_letter_topic(topic: str) -> str:
    return topic if topic.endswith(DEAD_LETTER_SUFFIX) else topic + DEAD_LETTER_SUFFIX


async def parked(reader: TopicReader, topic: str) -> list[Parked]:
    """The dead letters of `topic` (`all`: of every topic), oldest first."""
    if topic == "all":
        names = [t for t in await reader.topics() if t.endswith(DEAD_LETTER_SUFFIX)]
    else:
        names = [dead_letter_topic(topic)]
    found: list[Parked] = []
    for name in names:
        for dead in await reader.read(name):
            payload = dead.payload
            found.append(Parked(dead, original(dead), str(payload.get("group")), str(payload.get("error"))))
    return found


async def list_parked(bus_url: str, topic: str) -> list[str]:
    """Lines to print: one per dead letter."""
    if urlsplit(bus_url).scheme == "memory":
        return [IN_PROCESS_NOTE]
    async with open_bus(bus_url, client_id="commerce-dlq") as bus:
        assert isinstance(bus, TopicReader)
        found = await parked(bus, topic)
    return [p.line() for p in found] or [f"no dead letters for {topic}"]


async def replay(bus_url: str, topic: str, *, event_id: str | None = None) -> list[str]:
    """Republish the parked events of `topic` (or only the one whose original or dead-letter id is
    `event_id`) on `topic`; each distinct event once. The dead letters stay, as a record.
    """
    if urlsplit(bus_url).scheme == "memory":
        return [IN_PROCESS_NOTE]
    async with open_bus(bus_url, client_id="commerce-dlq") as bus:
        assert isinstance(bus, TopicReader)
        found = await parked(bus, topic.removesuffix(DEAD_LETTER_SUFFIX))
        chosen = [p for p in found if event_id in (None, p.event.id, p.dead.id)]
        events = list({p.event.id: p.event for p in chosen}.values())
        for event in events:
            await bus.publish(event)
    if event_id is not None and not events:
        raise SystemExit(f"no dead letter of {topic} has id {event_id}")
    return [f"replayed {e.id} ({e.type}, key {e.key}) on {e.topic}" for e in events] or ["nothing to replay"]
