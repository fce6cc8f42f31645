"""The transactional outbox: nothing recorded is lost, nothing rolled back is sent, order per key holds."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from commerce import cli
from kit import db, outbox
from kit.bus import Event, open_bus
from kit.bus.memory import MemoryBus
from kit.outbox import OutboxMessage, OutboxRelay, record_event
from kit.settings import Settings
from tests.support import BOTH_DATABASES, eventually, scratch_engine

# Every service's first migration creates the outbox, and only the outbox.
OUTBOX_MIGRATIONS, OUTBOX_REVISION = Path(__file__).parents[2] / "apis/orders/migrations", "0001"


@pytest.fixture(params=BOTH_DATABASES)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with scratch_engine(request.param, tmp_path, OUTBOX_MIGRATIONS, OUTBOX_REVISION) as engine:
        yield engine


@pytest.fixture
def bus_url() -> str:
    return f"memory://{uuid.uuid4().hex}"


def order_event(key: str, n: int) -> Event:
    return Event(
        type="ORDER_CREATED", payload={"n": n}, source_service="orders", topic="order_events", key=key
    )


class FlakyBus(MemoryBus):
    """A bus that refuses publications while `down` is set, as a broker outage would."""

    down = True

    async def publish(self, event: Event) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        await super().publish(event)


async def committed(engine: AsyncEngine, *events: Event) -> None:
    async with db.transaction(db.session_factory(engine)) as session:
        for event in events:
            record_event(session, event)


async def published(bus_url: str) -> list[Event]:
    async with open_bus(bus_url) as bus:
        assert isinstance(bus, MemoryBus)
        return list(bus.broker.topic("order_events").events)


async def test_an_event_committed_before_a_crash_is_delivered_after_restart(
    engine: AsyncEngine, bus_url: str
) -> None:
    await committed(engine, order_event("o1", 1))  # the process dies here, before any relay ran
    async with open_bus(bus_url) as bus:
        assert await OutboxRelay(engine, bus).deliver_pending() == 1
    assert [e.payload for e in await published(bus_url)] == [{"n": 1}]


async def test_a_delivered_event_is_not_sent_again(engine: AsyncEngine, bus_url: str) -> None:
    await committed(engine, order_event("o1", 1))
    async with open_bus(bus_url) as bus:
        relay = OutboxRelay(engine, bus)
        await relay.deliver_pending()
        assert await relay.deliver_pending() == 0
    assert len(await published(bus_url)) == 1


async def test_a_rolled_back_change_sends_nothing(engine: AsyncEngine, bus_url: str) -> None:
    async def failing_change() -> None:
        async with db.transaction(db.session_factory(engine)) as session:
            record_event(session, order_event("o1", 1))
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    async with open_bus(bus_url) as bus:
        assert await OutboxRelay(engine, bus).deliver_pending() == 0


async def test_a_failed_delivery_is_retried_and_holds_back_later_events_of_its_key(
    engine: AsyncEngine, bus_url: str
) -> None:
    await committed(engine, order_event("o1", 1), order_event("o1", 2), order_event("o2", 3))
    async with FlakyBus(bus_url) as bus:
        relay = OutboxRelay(engine, bus)
        assert await relay.deliver_pending() == 0
        async with engine.begin() as connection:
            rows = (
                await connection.execute(
                    sa.select(col(OutboxMessage.attempts)).order_by(col(OutboxMessage.seq))
                )
            ).all()
        assert [attempts for (attempts,) in rows] == [1, 0, 1]  # o1's second event waited for its first
        bus.down = False
        assert await relay.deliver_pending() == 0  # backing off: nothing is due yet
        async with engine.begin() as connection:
            await connection.execute(
                sa.update(OutboxMessage).values(available_at=datetime.now(UTC) - timedelta(1))
            )
        assert await relay.deliver_pending() == 3
    assert [e.payload["n"] for e in await published(bus_url) if e.key == "o1"] == [1, 2]


async def test_the_relay_wakes_up_after_each_commit(engine: AsyncEngine, bus_url: str) -> None:
    async with MemoryBus(bus_url) as bus:
        relay = OutboxRelay(engine, bus, poll_interval=3600)  # only the wake-up can deliver in time
        runner = asyncio.create_task(relay.run())
        try:
            sessions = db.session_factory(engine, on_commit=relay.wake)
            async with db.transaction(sessions) as session:
                record_event(session, order_event("o1", 1))
            await eventually(lambda: len(bus.broker.topic("order_events").events) == 1)
        finally:
            relay.stop()
            await runner


async def attempts_by_seq(engine: AsyncEngine) -> list[int]:
    async with engine.begin() as connection:
        query = sa.select(col(OutboxMessage.attempts)).order_by(col(OutboxMessage.seq))
        return [attempts for (attempts,) in (await connection.execute(query)).all()]


async def make_due(engine: AsyncEngine) -> None:
    """Skip the backoff: every undelivered row is due now."""
    async with engine.begin() as connection:
        await connection.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.delivered_at).is_(None))
            .values(available_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def test_rows_waiting_for_a_retry_do_not_fill_the_batch(engine: AsyncEngine, bus_url: str) -> None:
    await committed(engine, *(order_event(f"failing-{n}", n) for n in range(10)))
    async with engine.begin() as connection:  # ten keys backing off after failures
        later = datetime.now(UTC) + timedelta(minutes=1)
        await connection.execute(sa.update(OutboxMessage).values(attempts=1, available_at=later))
    await committed(engine, order_event("fresh", 10))
    async with open_bus(bus_url) as bus:
        assert await OutboxRelay(engine, bus, batch_size=5).deliver_pending() == 1
    assert [e.key for e in await published(bus_url)] == ["fresh"]


async def test_a_row_out_of_attempts_is_parked_and_holds_back_its_key_until_replayed(
    engine: AsyncEngine, bus_url: str
) -> None:
    first, second, other = order_event("o1", 1), order_event("o1", 2), order_event("o2", 3)
    await committed(engine, first, second, other)
    async with FlakyBus(bus_url) as bus:
        relay = OutboxRelay(engine, bus, max_attempts=3)
        for _ in range(5):
            await relay.deliver_pending()
            await make_due(engine)
        assert await attempts_by_seq(engine) == [3, 0, 3]  # tried three times each, then left alone
        parked = await outbox.pending_messages(engine, max_attempts=3, parked=True)
        assert [m.id for m in parked] == [first.id, other.id]
        bus.down = False
        assert await relay.deliver_pending() == 0  # o1's second event waits behind its parked first

        assert await outbox.replay_parked(engine, max_attempts=3, message_id=first.id) == 1
        assert await relay.deliver_pending() == 2
        assert await outbox.replay_parked(engine, max_attempts=3) == 1
        assert await relay.deliver_pending() == 1
    assert [e.id for e in await published(bus_url)] == [first.id, second.id, other.id]


async def test_commerce_outbox_lists_and_replays_parked_rows(
    engine: AsyncEngine, bus_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stuck, waiting = order_event("o1", 1), order_event("o1", 2)
    await committed(engine, stuck, waiting)
    async with FlakyBus(bus_url) as bus:
        relay = OutboxRelay(engine, bus, max_attempts=1)
        await relay.deliver_pending()
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, outbox_max_attempts=1)

        await cli.list_outbox(settings, "orders", parked=False)
        lines = capsys.readouterr().out.splitlines()
        assert [line.split()[:3] for line in lines] == [
            ["orders", stuck.id, "parked"],
            ["orders", waiting.id, "pending"],
        ]
        assert "broker unreachable" in lines[0]
        await cli.list_outbox(settings, "orders", parked=True)
        assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == [stuck.id]

        with pytest.raises(SystemExit, match="no parked outbox row"):
            await cli.replay_outbox(settings, "orders", waiting.id)
        await cli.replay_outbox(settings, "orders", stuck.id)
        assert "1 parked outbox row(s) replayed" in capsys.readouterr().out
        bus.down = False
        assert await relay.deliver_pending() == 2


class WatchingBus(MemoryBus):
    """Records how many database connections the relay holds at the moment it publishes."""

    engine: AsyncEngine
    held: list[int]

    async def publish(self, event: Event) -> None:
        pool = self.engine.pool
        assert isinstance(pool, sa.pool.QueuePool)
        self.held.append(pool.checkedout())
        await super().publish(event)


async def test_no_transaction_is_open_while_delivering(engine: AsyncEngine, bus_url: str) -> None:
    await committed(engine, order_event("o1", 1), order_event("o2", 2))
    async with WatchingBus(bus_url) as bus:
        bus.engine, bus.held = engine, []
        assert await OutboxRelay(engine, bus).deliver_pending() == 2
    assert bus.held == [0, 0]


class HangingBus(MemoryBus):
    """A destination that never answers: the relay waiting on it is about to die."""

    entered: asyncio.Event

    async def publish(self, event: Event) -> None:
        self.entered.set()
        await asyncio.Event().wait()


async def test_rows_of_a_relay_that_died_mid_delivery_come_back_when_its_lease_ends(
    engine: AsyncEngine, bus_url: str
) -> None:
    await committed(engine, order_event("o1", 1), order_event("o1", 2))
    lease = timedelta(seconds=1)  # a quarter of it is the budget to start deliveries
    async with HangingBus(f"{bus_url}-hanging") as hanging, MemoryBus(bus_url) as bus:
        hanging.entered = asyncio.Event()
        dying = asyncio.create_task(OutboxRelay(engine, hanging, lease=lease).deliver_pending())
        await hanging.entered.wait()
        dying.cancel()  # the process is killed while publishing: nothing is recorded
        with contextlib.suppress(asyncio.CancelledError):
            await dying
        relay = OutboxRelay(engine, bus, lease=lease)
        assert await relay.deliver_pending() == 0  # still leased to the dead relay
        await asyncio.sleep(lease.total_seconds())
        assert await relay.deliver_pending() == 2
    assert [e.payload["n"] for e in await published(bus_url)] == [1, 2]


class UnreliableDestination(MemoryBus):
    """Fails at random, sometimes after the event got through (a lost acknowledgement); notes any key
    delivered by two relays at once.
    """

    rng = random.Random(7)
    received: list[Event]
    overlaps: list[str]
    lost_acks = 0

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.received, self.overlaps, self._in_flight = [], [], set[str]()

    async def publish(self, event: Event) -> None:
        if event.key in self._in_flight:
            self.overlaps.append(event.key)
        self._in_flight.add(event.key)
        try:
            await asyncio.sleep(self.rng.random() / 500)
            roll = self.rng.random()
            if roll < 0.15:
                raise ConnectionError("broker unreachable")
            self.received.append(event)
            if roll < 0.25:
                self.lost_acks += 1
                raise TimeoutError("no acknowledgement")
        finally:
            self._in_flight.discard(event.key)


async def test_several_relays_keep_the_order_of_each_key(engine: AsyncEngine, bus_url: str) -> None:
    keys, per_key = [f"k{k}" for k in range(10)], 12
    url = engine.url.render_as_string(hide_password=False)
    engines = [engine, db.open_engine(url), db.open_engine(url)]  # three processes of a rolling deploy
    destination = UnreliableDestination(bus_url)
    relays = [
        OutboxRelay(e, destination, poll_interval=0.01, batch_size=16, retry_delay=timedelta(milliseconds=1))
        for e in engines
    ]
    runners = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        for n in range(per_key):  # keys interleave, and rows keep arriving while the relays run
            await committed(engine, *(order_event(key, n) for key in keys))
        expected = len(keys) * per_key
        await eventually(lambda: len({e.id for e in destination.received}) == expected, within=30)
    finally:
        for relay in relays:
            relay.stop()
        await asyncio.gather(*runners)
        for other in engines[1:]:
            await other.dispose()
    assert destination.overlaps == []
    for key in keys:
        arrived = [e.payload["n"] for e in destination.received if e.key == key]
        collapsed = [n for i, n in enumerate(arrived) if i == 0 or arrived[i - 1] != n]
        assert collapsed == list(range(per_key)), key  # repeats only right after a failure, never reordered
    assert len(destination.received) - expected <= destination.lost_acks


async def test_the_relay_is_woken_only_by_a_commit_that_wrote_outbox_rows(engine: AsyncEngine) -> None:
    wakes: list[int] = []
    sessions = db.session_factory(engine, on_commit=lambda: wakes.append(1), writing=OutboxMessage)
    async with db.transaction(sessions) as session:  # a change with no event: nothing to deliver
        await session.execute(sa.select(1))
    assert wakes == []

    async def failing_change() -> None:
        async with db.transaction(sessions) as session:
            record_event(session, order_event("o1", 1))
            await session.flush()
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert wakes == []
    async with db.transaction(sessions) as session:
        record_event(session, order_event("o1", 2))
    assert wakes == [1]


class StartingClient:
    """Stands for a Temporal client: records each start asked of it."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def start_workflow(self, workflow: str, **options: object) -> None:
        self.started.append(str(options["id"]))


async def recorded_start(engine: AsyncEngine, workflow_id: str) -> outbox.WorkflowStart:
    start = outbox.WorkflowStart(workflow="W", id=workflow_id, task_queue="q")
    async with db.transaction(db.session_factory(engine)) as session:
        outbox.record_workflow(session, start, fallback_after=timedelta(minutes=1))
    return start


async def test_a_start_its_caller_made_is_not_made_again_by_the_relay(
    engine: AsyncEngine, bus_url: str
) -> None:
    client = StartingClient()
    start = await recorded_start(engine, "w-1")
    async with open_bus(bus_url) as bus:
        relay = OutboxRelay(engine, bus, temporal=lambda: asyncio.sleep(0, client))  # type: ignore[arg-type]
        assert await relay.deliver_pending() == 0  # the caller's turn first
        await outbox.start_recorded(client, db.session_factory(engine), start)  # type: ignore[arg-type]
        await make_due(engine)
        assert await relay.deliver_pending() == 0
    assert client.started == ["w-1"]


async def test_a_start_its_caller_did_not_make_is_made_by_the_relay_after_the_delay(
    engine: AsyncEngine, bus_url: str
) -> None:
    client = StartingClient()
    await recorded_start(engine, "w-2")  # the caller died, or Temporal refused it
    async with open_bus(bus_url) as bus:
        relay = OutboxRelay(engine, bus, temporal=lambda: asyncio.sleep(0, client))  # type: ignore[arg-type]
        assert await relay.deliver_pending() == 0
        await make_due(engine)  # the delay has passed
        assert await relay.deliver_pending() == 1
    assert client.started == ["w-2"]
