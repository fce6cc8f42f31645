"""The event bus contract, the same for every adapter."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from kit.bus import DEAD_LETTER_SUFFIX, Event, EventBus, open_bus
from tests.support import eventually, real_server_url


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.integration)])
def bus_url(request: pytest.FixtureRequest) -> str:
    if request.param == "kafka":
        return real_server_url("COMMERCE_TEST_KAFKA_URL")
    return f"memory://{uuid.uuid4().hex}"


@pytest.fixture
def topic() -> str:
    return f"test_events_{uuid.uuid4().hex[:8]}"


def event(topic: str, key: str, n: int, *, event_id: str | None = None) -> Event:
    return Event(
        id=event_id or str(uuid.uuid4()),
        type="THING_HAPPENED",
        payload={"n": n},
        source_service="tests",
        topic=topic,
        key=key,
    )


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, received: Event) -> None:
        self.events.append(received)


async def test_events_of_one_key_are_consumed_in_publication_order(bus_url: str, topic: str) -> None:
    received = Recorder()
    async with open_bus(bus_url) as bus:
        bus.subscribe(topic + "-a", [topic], received)
        for n in range(20):
            await bus.publish(event(topic, key=f"k{n % 2}", n=n))
        await eventually(lambda: len(received.events) == 20, within=30)
    for key in ("k0", "k1"):
        numbers = [e.payload["n"] for e in received.events if e.key == key]
        assert numbers == sorted(numbers)


async def test_the_envelope_survives_the_trip(bus_url: str, topic: str) -> None:
    received = Recorder()
    sent = event(topic, key="order-1", n=7)
    async with open_bus(bus_url) as bus:
        bus.subscribe(topic + "-a", [topic], received)
        await bus.publish(sent)
        await eventually(lambda: received.events, within=30)
    assert received.events[0] == sent
    assert received.events[0].to_wire() == sent.to_wire()


async def test_every_group_gets_every_event(bus_url: str, topic: str) -> None:
    first, second = Recorder(), Recorder()
    async with open_bus(bus_url) as bus:
        bus.subscribe(topic + "-a", [topic], first)
        bus.subscribe(topic + "-b", [topic], second)
        await bus.publish(event(topic, "k", 1))
        await eventually(lambda: first.events and second.events, within=30)


async def test_an_event_is_redelivered_after_a_crash_before_the_commit(bus_url: str, topic: str) -> None:
    started = asyncio.Event()

    async def crash_midway(_event: Event) -> None:
        started.set()
        await asyncio.sleep(3600)  # the process dies while handling

    async with open_bus(bus_url) as bus:
        bus.subscribe(topic + "-a", [topic], crash_midway)
        await bus.publish(event(topic, "k", 1))
        await asyncio.wait_for(started.wait(), 30)
    received = Recorder()
    async with open_bus(bus_url) as restarted:
        restarted.subscribe(topic + "-a", [topic], received)
        await eventually(lambda: received.events, within=30)
    assert received.events[0].payload == {"n": 1}


async def test_a_committed_event_is_not_delivered_again(bus_url: str, topic: str) -> None:
    first = Recorder()
    async with open_bus(bus_url) as bus:
        bus.subscribe(topic + "-a", [topic], first)
        await bus.publish(event(topic, "k", 1))
        await eventually(lambda: first.events, within=30)
        await asyncio.sleep(0.2)  # let the commit land
    second = Recorder()
    async with open_bus(bus_url) as restarted:
        restarted.subscribe(topic + "-a", [topic], second)
        await restarted.publish(event(topic, "k", 2))
        await eventually(lambda: second.events, within=30)
    assert [e.payload["n"] for e in second.events] == [2]


async def test_a_duplicate_event_id_is_handled_once(bus_url: str, topic: str) -> None:
    received = Recorder()
    duplicate_id = str(uuid.uuid4())
    async with open_bus(bus_url) as bus:
        bus.subscribe(topic + "-a", [topic], received)
        await bus.publish(event(topic, "k", 1, event_id=duplicate_id))
        await bus.publish(event(topic, "k", 1, event_id=duplicate_id))
        await bus.publish(event(topic, "k", 2))
        await eventually(lambda: any(e.payload["n"] == 2 for e in received.events), within=30)
    assert [e.payload["n"] for e in received.events] == [1, 2]


async def test_a_failing_handler_is_retried_then_the_event_is_parked(bus_url: str, topic: str) -> None:
    attempts: list[int] = []
    parked, later = Recorder(), Recorder()

    async def always_fails(received: Event) -> None:
        if received.payload["n"] == 1:
            attempts.append(1)
            raise RuntimeError("cannot handle")
        await later(received)

    async with open_bus(bus_url) as bus:
        bus.subscribe(topic + "-a", [topic], always_fails)
        bus.subscribe(topic + "-dlq-reader", [topic + DEAD_LETTER_SUFFIX], parked)
        await bus.publish(event(topic, "k", 1))
        await bus.publish(event(topic, "k", 2))
        await eventually(lambda: later.events and parked.events, within=60)
    assert len(attempts) == 5
    dead = parked.events[0]
    assert dead.payload["event"]["payload"] == {"n": 1}
    assert dead.payload["group"] == topic + "-a"
    assert "cannot handle" in dead.payload["error"]


async def test_ping_answers_when_the_bus_is_reachable(bus_url: str) -> None:
    bus: EventBus
    async with open_bus(bus_url) as bus:
        await bus.ping()
