"""Outbox rows that start or signal workflows: delivered to a real Temporal dev server, once per workflow
id; a signal follows its workflow's start, and one for a workflow that has ended is delivered as nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from apis.orders.app import MIGRATIONS
from kit import db
from kit.bus import open_bus
from kit.outbox import OutboxRelay, WorkflowSignal, WorkflowStart, record_signal, record_workflow
from tests.kit.greeting import GreetWorkflow


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = db.open_engine(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    await db.migrate(engine, MIGRATIONS)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(temporal_address: str) -> Client:
    return await Client.connect(temporal_address, data_converter=pydantic_data_converter)


async def deliver(engine: AsyncEngine, client: Client, *rows: WorkflowStart | WorkflowSignal) -> int:
    async with db.transaction(db.session_factory(engine)) as session:
        for row in rows:
            if isinstance(row, WorkflowSignal):
                record_signal(session, row, dedup_id=f"{row.workflow_id}-{row.signal}")
            else:
                record_workflow(session, row)

    async def connection() -> Client:
        return client

    async with open_bus(f"memory://{uuid.uuid4().hex}") as bus:
        return await OutboxRelay(engine, bus, connection).deliver_pending()


async def test_signal_with_start_coalesces_changes_into_one_workflow(
    engine: AsyncEngine, client: Client
) -> None:
    queue, workflow_id = f"q-{uuid.uuid4().hex}", f"greet-{uuid.uuid4().hex}"
    start = WorkflowStart(
        workflow="GreetWorkflow", id=workflow_id, task_queue=queue, args=["ada"], signal="touch"
    )
    assert await deliver(engine, client, start, start) == 2
    async with Worker(client, task_queue=queue, workflows=[GreetWorkflow]):
        assert await client.get_workflow_handle(workflow_id).result() == "hello ada, touched 2"


async def test_a_redelivered_start_does_not_run_the_workflow_again(
    engine: AsyncEngine, client: Client
) -> None:
    queue, workflow_id = f"q-{uuid.uuid4().hex}", f"greet-{uuid.uuid4().hex}"
    start = WorkflowStart(workflow="GreetWorkflow", id=workflow_id, task_queue=queue, args=["bob"])
    async with Worker(client, task_queue=queue, workflows=[GreetWorkflow]):
        assert await deliver(engine, client, start) == 1
        handle = client.get_workflow_handle(workflow_id)
        await handle.signal(GreetWorkflow.touch)
        assert await handle.result() == "hello bob, touched 1"
        assert await deliver(engine, client, start) == 1  # e.g. the relay crashed before marking it delivered
        description = await handle.describe()
    assert description.run_id == (await handle.describe()).run_id
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1


async def test_a_start_waits_in_the_outbox_while_temporal_is_unreachable(engine: AsyncEngine) -> None:
    async with db.transaction(db.session_factory(engine)) as session:
        record_workflow(
            session, WorkflowStart(workflow="GreetWorkflow", id="greet-x", task_queue="q", args=["x"])
        )

    async def unreachable() -> Client:
        raise ConnectionError("Temporal is down")

    async with open_bus(f"memory://{uuid.uuid4().hex}") as bus:
        assert await OutboxRelay(engine, bus, unreachable).deliver_pending() == 0


async def test_a_signal_follows_its_workflows_start_and_one_for_an_ended_workflow_is_done(
    engine: AsyncEngine, client: Client
) -> None:
    queue, workflow_id = f"q-{uuid.uuid4().hex}", f"greet-{uuid.uuid4().hex}"
    start = WorkflowStart(workflow="GreetWorkflow", id=workflow_id, task_queue=queue, args=["cy"])
    touch = WorkflowSignal(workflow_id=workflow_id, signal="touch")
    assert await deliver(engine, client, start, touch) == 2  # one pass: the start first, then the signal
    async with Worker(client, task_queue=queue, workflows=[GreetWorkflow]):
        assert await client.get_workflow_handle(workflow_id).result() == "hello cy, touched 1"
    assert await deliver(engine, client, touch) == 1  # ended: nothing to do, and not retried
    never_started = WorkflowSignal(workflow_id=f"greet-{uuid.uuid4().hex}", signal="touch")
    assert await deliver(engine, client, never_started) == 1
