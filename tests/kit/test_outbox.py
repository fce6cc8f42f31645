"""The transactional outbox: nothing recorded is lost, nothing rolled back is sent, order per key holds."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from apis.orders.app import MIGRATIONS
from kit import db
from kit.bus import Event, open_bus
from kit.bus.memory import MemoryBus
from kit.outbox import OutboxMessage, OutboxRelay, record_event
from tests.support import eventually, real_server_url, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "postgres":
            url = await stack.enter_async_context(
                scratch_database(real_server_url("COMMERCE_TEST_POSTGRES_URL"))
            )
        else:
            url = f"sqlite+aiosqlite:///{tmp_path}/orders.db"
        engine = db.open_engine(url)
        stack.push_async_callback(engine.dispose)
        await db.migrate(engine, MIGRATIONS)
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
