"""The registration workflow on a real Temporal dev server: a registration becomes exactly one USER_CREATED
on the bus, a crash right after the commit loses nothing, and a bus outage only delays the event.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from activities.users import UserActivities
from apis.auth import schemas, seed
from apis.auth.app import MIGRATIONS, create_app
from apis.auth.context import AuthContext
from apis.auth.service import accounts
from kit import db
from kit.bus import Event, EventBus
from kit.bus.memory import MemoryBus
from kit.infra import Infra, open_infra
from kit.outbox import OutboxMessage, OutboxRelay
from kit.settings import Settings
from kit.temporal import connect_temporal
from tests.support import asgi_client, embedded_settings, eventually
from workers.users import build_worker
from workflows.register_user import RegisterUserInput, RegisterUserWorkflow, workflow_id

PASSWORD = "correct horse battery"


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def created(self, user_id: str) -> list[Event]:
        return [e for e in self.events if e.key == user_id and e.type == "USER_CREATED"]


@pytest.fixture
def settings(tmp_path: Path, temporal_address: str) -> Settings:
    return embedded_settings(tmp_path, temporal_address=temporal_address)


@contextlib.asynccontextmanager
async def users_worker(settings: Settings) -> AsyncIterator[tuple[Infra, Recorder]]:
    """The `users` worker as `commerce worker users` builds it, and a consumer of `auth_events`."""
    recorder = Recorder()
    async with open_infra(settings.for_service("gateway")) as infra:
        infra.bus.subscribe("tests", ["auth_events"], recorder)
        async with build_worker(await connect_temporal(settings), infra):
            yield infra, recorder


async def runs_of(client: Client, workflow: str) -> int:
    return len([run async for run in client.list_workflows(f"WorkflowId = '{workflow}'")])


async def test_a_registration_through_the_api_is_announced_once_on_the_bus(settings: Settings) -> None:
    async with users_worker(settings) as (_, recorder), asgi_client(create_app(settings)) as api:
        registered = await api.post(
            "/register", json={"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
        )
        user_id = (
            await api.get("/me", headers={"Authorization": f"Bearer {registered.json()['token']}"})
        ).json()["id"]
        client = await connect_temporal(settings)
        handle = client.get_workflow_handle_for(RegisterUserWorkflow.run, workflow_id(user_id))
        await eventually(lambda: recorder.created(user_id), within=30)
        result = await handle.result()
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    [event] = recorder.created(user_id)
    assert event.topic == "auth_events"
    assert event.source_service == "auth"
    assert event.payload == {
        "id": user_id,
        "name": "Ada",
        "email": "ada@example.com",
        "profileImage": None,
        "language": "en",  # none asked: English
    }
    assert event.id == result.event_id


async def test_a_crash_right_after_the_commit_loses_no_registration(settings: Settings) -> None:
    auth_settings = settings.for_service("auth")
    # Before the crash: the service commits a registration; no relay ever runs (it dies right after).
    engine = db.open_engine(auth_settings.service_database_url)
    await db.migrate(engine, MIGRATIONS)
    auth = AuthContext.load(auth_settings)
    sessions = db.session_factory(engine)
    await seed.run(sessions, auth_settings, auth.passwords)
    async with sessions() as session:
        data = schemas.UserRegister(name="Crash", email="crash@example.com", password=PASSWORD)
        await accounts.register(session, auth, data)
    await engine.dispose()

    # After the restart: the user and the pending start wait in the database.
    engine = db.open_engine(auth_settings.service_database_url)
    async with engine.connect() as connection:
        user_id = (
            await connection.execute(sa.text("SELECT id FROM users WHERE email = 'crash@example.com'"))
        ).scalar_one()
        pending = await connection.execute(
            sa.text("SELECT count(*) FROM outbox WHERE kind = 'workflow' AND delivered_at IS NULL")
        )
        assert pending.scalar_one() == 1
    client = await connect_temporal(settings)

    async def temporal() -> Client:
        return client

    try:
        async with users_worker(settings) as (infra, recorder):
            relay = OutboxRelay(engine, infra.bus, temporal)
            assert await relay.deliver_pending() == 2  # the admin's USER_CREATED from the seed, and the start
            result = await client.get_workflow_handle_for(
                RegisterUserWorkflow.run, workflow_id(user_id)
            ).result()
            await eventually(lambda: recorder.created(user_id), within=10)
            # The relay crashed before marking the start delivered; once its lease has run out, another
            # pass sends it again, and nothing runs twice.
            async with engine.begin() as connection:
                await connection.execute(
                    sa.update(OutboxMessage)
                    .where(col(OutboxMessage.kind) == "workflow")
                    .values(delivered_at=None, available_at=datetime.now(UTC) - timedelta(seconds=1))
                )
            assert await relay.deliver_pending() == 1
            assert await runs_of(client, workflow_id(user_id)) == 1
    finally:
        await engine.dispose()
    [event] = recorder.created(user_id)
    assert event.id == result.event_id
    assert event.payload["email"] == "crash@example.com"


class FlakyBus(MemoryBus):
    """Refuses the first publication, as a broker restarting would."""

    attempts = 0

    async def publish(self, event: Event) -> None:
        self.attempts += 1
        if self.attempts == 1:
            raise ConnectionError("broker unreachable")
        await super().publish(event)


async def test_a_bus_outage_delays_the_event_without_losing_or_doubling_it(settings: Settings) -> None:
    client = await connect_temporal(settings)
    queue, user_id = f"users-{uuid.uuid4().hex}", str(uuid.uuid4())
    bus: EventBus
    async with FlakyBus(f"memory://{uuid.uuid4().hex}") as bus:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[RegisterUserWorkflow],
            activities=[UserActivities(bus).publish_user_event],
        ):
            result = await client.execute_workflow(
                RegisterUserWorkflow.run,
                RegisterUserInput(user_id=user_id, name="Bo", email="bo@example.com"),
                id=workflow_id(user_id),
                task_queue=queue,
            )
        [event] = bus.broker.topic("auth_events").events
    assert bus.attempts == 2
    assert event.id == result.event_id
    assert event.key == user_id
