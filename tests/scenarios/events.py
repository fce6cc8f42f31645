"""Every event the scenarios caused, observed on the bus (Kafka, or the embedded bus): each once.

Read as an operator reads a topic (`kit.bus.TopicReader`: the whole log, nothing committed), filtered to
the keys the scenarios used (a shared platform's topics hold other runs' events too). Checked:

- each (topic, type, key) a scenario caused is on its topic exactly once: not missing, not published
  twice (under one id or two);
- each product's latest PRODUCT_CREATED / PRODUCT_UPDATED carries the stock the catalog answered last,
  so every stock movement reached the bus;
- no other event about those keys is published twice under one id.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from contracts import products
from kit.bus import Event, TopicReader, open_bus
from tests.scenarios.shop import Caused

WITHIN = 120.0  # seconds for the last event to arrive: outbox relays, the product sync's debounce


@dataclass(frozen=True)
class Observed:
    """What the check found: the events about the scenarios' keys, and what is wrong with them."""

    events: list[Event]
    problems: list[str]

    def summary(self) -> str:
        kinds = Counter(e.type for e in self.events)
        return f"{len(self.events)} events observed: " + ", ".join(
            f"{n} {k}" for k, n in sorted(kinds.items())
        )


def judge(caused: Caused, events: list[Event]) -> list[str]:
    """What is wrong with `events` (a bus's log about `caused`'s keys), in words; empty when nothing is."""
    problems: list[str] = []
    found = Counter((e.topic, e.type, e.key) for e in events)
    for expected, times in Counter(caused.events).items():
        seen = found[expected]
        if seen != times:
            topic, kind, key = expected
            problems.append(f"{kind} of {key} on {topic}: {seen} times, expected {times}")
    ids = Counter(e.id for e in events)
    twice = sorted(f"{e.type} {e.id}" for e in {e.id: e for e in events}.values() if ids[e.id] > 1)
    if twice:
        problems.append(f"events delivered twice under one id: {twice}")
    for product_id, variants in caused.stock.items():
        documents = [
            e
            for e in events
            if e.key == product_id and e.type in (products.PRODUCT_CREATED, products.PRODUCT_UPDATED)
        ]
        if not documents:
            continue  # no event at all: already counted missing
        last = max(documents, key=lambda e: e.timestamp)
        shown = {v["id"]: v["stockQuantity"] for v in last.payload.get("variants", [])}
        if {v: shown.get(v) for v in variants} != variants:
            problems.append(
                f"product {product_id}: its last event shows stock {shown}, the catalog's {variants}"
            )
    return problems


async def read_about(reader: TopicReader, caused: Caused) -> list[Event]:
    """Every event on the topics `caused` names whose key is one of its keys, oldest first."""
    keys = {key for _, _, key in caused.events} | set(caused.stock)
    topics = sorted({topic for topic, _, _ in caused.events})
    found: list[Event] = []
    for topic in topics:
        found += [e for e in await reader.read(topic) if e.key in keys]
    return sorted(found, key=lambda e: e.timestamp)


async def observe(bus_url: str, caused: Caused, within: float = WITHIN) -> Observed:
    """Read the bus at `bus_url` until it shows everything `caused` (or `within` seconds passed), then
    judge what it holds.
    """
    async with open_bus(bus_url, client_id="scenarios-audit") as bus:
        if not isinstance(bus, TopicReader):
            raise AssertionError(f"the bus at {bus_url} cannot be read back")
        deadline = asyncio.get_running_loop().time() + within
        while True:
            events = await read_about(bus, caused)
            problems = judge(caused, events)
            if not problems or asyncio.get_running_loop().time() > deadline:
                return Observed(events, problems)
            await asyncio.sleep(1.0)
