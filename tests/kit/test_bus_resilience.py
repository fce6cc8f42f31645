"""The bus beyond the contract: consumers that fail show on `/ready` and come back; the embedded
platform's bus keeps what it accepted when the process dies; operators replay dead letters.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from kit.bus import DEAD_LETTER_SUFFIX, Event, Retry, dlq, open_bus, original
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service
from tests.kit.test_bus_contract import Recorder, event, failing
from tests.support import asgi_client, embedded_settings, eventually, real_server_url

DIE_WHILE_HANDLING = """
import asyncio, os, sys
from kit.bus import Event, open_bus
from kit.settings import Settings

async def main() -> None:
    async with open_bus(Settings(data_dir=sys.argv[1]).bus_url) as bus:
        started = asyncio.Event()

        async def hang(_event: Event) -> None:
            started.set()
            await asyncio.sleep(3600)

        bus.subscribe("g", ["t"], hang)
        await bus.publish(Event(type="T", payload={"n": 1}, source_service="tests", topic="t", key="k"))
        await asyncio.wait_for(started.wait(), 30)
        os._exit(9)  # killed: nothing is closed, nothing committed

asyncio.run(main())
"""


async def test_the_platform_bus_keeps_an_unhandled_event_when_the_process_dies(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COMMERCE_BUS_URL"}
    script = [sys.executable, "-c", DIE_WHILE_HANDLING, str(tmp_path)]
    died = await asyncio.create_subprocess_exec(*script, env=env)
    assert await asyncio.wait_for(died.wait(), 60) == 9
    received = Recorder()
    async with open_bus(Settings(data_dir=tmp_path).bus_url) as bus:
        bus.subscribe("g", ["t"], received)
        await eventually(lambda: received.events, within=10)
    assert received.events[0].payload == {"n": 1}


async def test_ready_names_a_consumer_while_it_is_down_and_recovers(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, bus_handler_attempts=1, bus_max_backoff=0.5)
    opened: list[Infra] = []

    async def subscribe(infra: Infra) -> None:
        async def fails(_event: Event) -> None:
            raise RuntimeError("cannot handle")

        infra.bus.publish = failing(infra.bus.publish, times=3)  # type: ignore[method-assign,assignment]
        infra.bus.subscribe("watchers", ["things"], fails)
        opened.append(infra)

    app = create_service(settings.for_service("products"), title="test", on_startup=subscribe)
    async with asgi_client(app) as client:
        assert (await client.get("/ready")).status_code == 200
        await opened[0].bus.publish(event("things", "k", 1))
        answers: list[httpx.Response] = []

        async def ready_is(status: int) -> bool:
            answers.append(await client.get("/ready"))
            return answers[-1].status_code == status

        await eventually(lambda: ready_is(503), within=10)
        assert "the bus went away" in answers[-1].json()["dependencies"]["consumer watchers:things"]
        await eventually(lambda: ready_is(200), within=20)
        parked = await opened[0].bus.read("things" + DEAD_LETTER_SUFFIX)  # type: ignore[attr-defined]
    assert [original(e).payload for e in parked] == [{"n": 1}]


@pytest.fixture(params=["sqlite", pytest.param("kafka", marks=pytest.mark.integration)])
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "kafka":
        return real_server_url("COMMERCE_TEST_KAFKA_URL")
    return f"sqlite:///{tmp_path}/bus.db"


async def test_replay_puts_a_parked_event_back_on_its_topic(durable_url: str) -> None:
    url, topic = durable_url, f"things_{uuid.uuid4().hex[:8]}"
    attempts: list[Event] = []

    async def fails_once(received: Event) -> None:
        attempts.append(received)
        if len(attempts) == 1:
            raise RuntimeError("cannot handle yet")

    async with open_bus(url, retry=Retry(attempts=1)) as bus:
        bus.subscribe(f"{topic}-g", [topic], fails_once)
        sent = event(topic, "k", 1)
        await bus.publish(sent)
        await eventually(lambda: attempts, within=30)
        listed: list[str] = []

        async def listed_some() -> bool:
            listed[:] = await dlq.list_parked(url, topic)
            return listed[0].startswith(f"{topic}.dlq")

        await eventually(listed_some, within=30, interval=0.2)
        assert listed[0].startswith(f"{topic}.dlq  id={sent.id}  type=THING_HAPPENED"), listed
        assert any(line.startswith(f"{topic}.dlq") for line in await dlq.list_parked(url, "all"))
        assert await dlq.replay(url, topic, event_id=sent.id) == [
            f"replayed {sent.id} (THING_HAPPENED, key k) on {topic}"
        ]
        await eventually(lambda: len(attempts) == 2, within=30)
    assert attempts[1] == sent
    assert await dlq.list_parked("memory://", "all") == [dlq.IN_PROCESS_NOTE]


async def test_a_write_to_the_embedded_bus_holds_no_lock_once_it_returned(tmp_path: Path) -> None:
    """The statement commits in its own call: another writer of the file never waits on an event loop's
    next turn (a starved loop used to keep the file locked between a write and its commit)."""
    import sqlite3

    async with open_bus(f"sqlite:///{tmp_path}/bus.db") as bus:
        await bus.publish(event("things", "k", 1))
        loop_busy_elsewhere = await bus.db.execute(  # type: ignore[attr-defined]
            "INSERT INTO events (topic, key, data, stored_at) VALUES ('things', 'k', '{}', 0)"
        )
        await loop_busy_elsewhere.close()
        other = sqlite3.connect(tmp_path / "bus.db", timeout=0)  # fails at once on a held lock
        try:
            other.execute("DELETE FROM events WHERE stored_at = 0")
            other.commit()
        finally:
            other.close()
