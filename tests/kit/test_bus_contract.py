"""The event bus contract, the same for every adapter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from kit.bus import DEAD_LETTER_SUFFIX, Event, EventBus, Retry, TopicReader, open_bus, original
from tests.support import eventually, real_server_url

FAST = Retry(attempts=5, base_delay=0.05, max_delay=0.2)


@pytest.fixture(params=["memory", "sqlite", pytest.param("kafka", marks=pytest.mark.integration)])
def bus_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "kafka":
        return real_server_url("COMMERCE_TEST_KAFKA_URL")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bus.db"
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

    async with open_bus(bus_url, retry=FAST) as bus:
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


async def test_a_handler_whose_database_is_down_waits_for_it_instead_of_parking(
    bus_url: str, topic: str
) -> None:
    """A failure of what the handler needs (a connection refused, a database restarting) is not the
    event's fault: it is retried beyond the attempts, until it passes, and nothing is parked."""
    outage = FAST.attempts + 3
    attempts: list[int] = []
    handled, parked = Recorder(), Recorder()

    async def database_down_a_while(received: Event) -> None:
        attempts.append(1)
        if len(attempts) <= outage:
            raise ConnectionRefusedError("the database is restarting")
        await handled(received)

    async with open_bus(bus_url, retry=FAST) as bus:
        bus.subscribe(topic + "-a", [topic], database_down_a_while)
        bus.subscribe(topic + "-dlq-reader", [topic + DEAD_LETTER_SUFFIX], parked)
        await bus.publish(event(topic, "k", 1))
        await eventually(lambda: handled.events, within=60)
    assert len(attempts) == outage + 1
    assert parked.events == []


async def test_ping_answers_when_the_bus_is_reachable(bus_url: str) -> None:
    bus: EventBus
    async with open_bus(bus_url) as bus:
        await bus.ping()


async def test_an_event_accepted_before_a_restart_is_delivered_after_it(bus_url: str, topic: str) -> None:
    """Publish, close the bus while the handler has not committed, reopen: the event comes (B)."""
    started = asyncio.Event()

    async def never_finishes(_event: Event) -> None:
        started.set()
        await asyncio.sleep(3600)

    async with open_bus(bus_url) as bus:
        await bus.publish(event(topic, "k", 1))
        bus.subscribe(topic + "-a", [topic], never_finishes)
        await asyncio.wait_for(started.wait(), 30)
        await bus.publish(event(topic, "k", 2))
    received = Recorder()
    async with open_bus(bus_url) as reopened:
        reopened.subscribe(topic + "-a", [topic], received)
        await eventually(lambda: len(received.events) == 2, within=30)
    assert [e.payload["n"] for e in received.events] == [1, 2]


def failing(publish: Callable[[Event], Awaitable[None]], times: int) -> Callable[[Event], Awaitable[None]]:
    """`publish` refusing its first `times` dead letters, as a bus that went away would."""
    refusals = [times]

    async def publish_or_fail(sent: Event) -> None:
        if sent.topic.endswith(DEAD_LETTER_SUFFIX) and refusals[0] > 0:
            refusals[0] -= 1
            raise ConnectionError("the bus went away")
        await publish(sent)

    return publish_or_fail


async def test_a_consumer_that_cannot_park_an_event_restarts_and_says_so(bus_url: str, topic: str) -> None:
    """A failed dead-letter publication stops the consumer; it shows as down, restarts, and goes on (A)."""
    later, parked = Recorder(), Recorder()
    seen_down: list[dict[str, str]] = []

    async def fails_on_one(received: Event) -> None:
        if received.payload["n"] == 1:
            raise RuntimeError("cannot handle")
        await later(received)

    async with open_bus(bus_url, retry=Retry(attempts=2, base_delay=0.05, max_delay=1.0)) as bus:
        bus.publish = failing(bus.publish, times=2)  # type: ignore[method-assign,assignment]
        bus.subscribe(topic + "-a", [topic], fails_on_one)
        bus.subscribe(topic + "-dlq-reader", [topic + DEAD_LETTER_SUFFIX], parked)
        await bus.publish(event(topic, "k", 1))
        await bus.publish(event(topic, "k", 2))

        def down() -> bool:
            seen_down.append(bus.down_consumers())
            return bool(seen_down[-1])

        await eventually(down, within=30)
        await eventually(lambda: later.events and parked.events, within=60)
        await eventually(lambda: not bus.down_consumers(), within=30)
    assert any(topic + "-a" in name for name in seen_down[-1])
    assert "the bus went away" in next(iter(seen_down[-1].values()))
    assert original(parked.events[0]).payload == {"n": 1}


async def test_a_topic_can_be_read_whole_without_consuming_it(bus_url: str, topic: str) -> None:
    """What `commerce events dlq` relies on: topic names and a topic's log, nothing committed."""
    async with open_bus(bus_url) as bus:
        if not isinstance(bus, TopicReader):
            pytest.fail(f"{type(bus).__name__} cannot be read by operators")
        for n in range(3):
            await bus.publish(event(topic, f"k{n}", n))
        assert topic in await bus.topics()
        assert sorted(e.payload["n"] for e in await bus.read(topic)) == [0, 1, 2]
        assert await bus.read(topic + "-none") == []
