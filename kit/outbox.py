"""Transactional outbox: events and workflow starts are written in the same transaction as the change,
and a relay delivers them after commit, retrying until the bus or Temporal accepts them.

A crash right after a commit loses nothing: the rows wait in the service's own database. Delivery is at
least once and in order per key; consumers de-duplicate by event id, workflow starts by workflow id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import JSON, Column, Field, SQLModel, col
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from kit.bus import Event, EventBus

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxMessage(SQLModel, table=True):
    """One pending delivery; `id` is the event id or the workflow id, for operators and logs."""

    __tablename__ = "outbox"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    key: str = Field(max_length=200)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    available_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), index=True)


class WorkflowStart(BaseModel):
    """A workflow to start (or to signal-with-start, when `signal` is set) once the change is committed."""

    workflow: str
    id: str
    task_queue: str
    args: list[Any] = []
    signal: str | None = None
    signal_args: list[Any] = []


def record_event(session: AsyncSession, event: Event) -> None:
    """Queue `event` for the bus in the caller's transaction."""
    body = {"topic": event.topic, "event": event.model_dump(mode="json", by_alias=True)}
    session.add(OutboxMessage(id=event.id, kind="event", key=event.key, body=body))


def record_workflow(session: AsyncSession, start: WorkflowStart, *, dedup_id: str | None = None) -> None:
    """Queue a workflow start in the caller's transaction; `dedup_id` defaults to the workflow id."""
    session.add(
        OutboxMessage(id=dedup_id or start.id, kind="workflow", key=start.id, body=start.model_dump())
    )


class OutboxRelay:
    """Delivers pending outbox rows; woken after each commit, and polling in case a wake-up was missed."""

    def __init__(
        self,
        engine: AsyncEngine,
        bus: EventBus,
        temporal: Callable[[], Awaitable[Client]] | None = None,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 100,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._bus = bus
        self._temporal = temporal
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._retention = retention
        self._wake = asyncio.Event()
        self._stopping = False
        self._last_purge = datetime.min.replace(tzinfo=UTC)

    def wake(self) -> None:
        """Ask for a delivery pass now (called after a commit)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`; one failing destination never stops the others."""
        while not self._stopping:
            try:
                await self.deliver_pending()
            except Exception:
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            self._wake.clear()

    def stop(self) -> None:
        """End `run()` after the current pass: cancelling a pass mid-query can wedge a SQLite connection."""
        self._stopping = True
        self._wake.set()

    async def deliver_pending(self) -> int:
        """One pass over pending rows, oldest first; returns how many were delivered."""
        delivered, blocked = 0, set[str]()
        now = _now()
        async with self._sessions() as session, session.begin():
            query = (
                sa.select(OutboxMessage)
                .where(col(OutboxMessage.delivered_at).is_(None))
                .order_by(col(OutboxMessage.seq))
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            )
            for message in (await session.scalars(query)).all():
                if message.key in blocked or _aware(message.available_at) > now:
                    blocked.add(message.key)  # keep per-key order: later rows wait for this one
                    continue
                try:
                    await self._deliver(message)
                except Exception as exc:
                    blocked.add(message.key)
                    message.attempts += 1
                    message.last_error = repr(exc)[:1000]
                    message.available_at = now + timedelta(seconds=min(60.0, 0.5 * 2**message.attempts))
                    log.warning("outbox delivery failed", extra={"outboxId": message.id, "error": repr(exc)})
                else:
                    message.delivered_at = now
                    delivered += 1
            if now - self._last_purge > timedelta(hours=1):
                self._last_purge = now
                await session.execute(
                    sa.delete(OutboxMessage).where(col(OutboxMessage.delivered_at) < now - self._retention)
                )
        return delivered

    async def _deliver(self, message: OutboxMessage) -> None:
        if message.kind == "event":
            fields = {**message.body["event"], "topic": message.body["topic"], "key": message.key}
            await self._bus.publish(Event.model_validate(fields))
            return
        if self._temporal is None:
            raise RuntimeError("this process has no Temporal connection")
        await start_workflow(await self._temporal(), WorkflowStart.model_validate(message.body))


async def start_workflow(client: Client, start: WorkflowStart) -> None:
    """Start once per workflow id (a duplicate is success), or signal-with-start to coalesce bursts."""
    if start.signal:
        await client.start_workflow(
            start.workflow,
            args=start.args,
            id=start.id,
            task_queue=start.task_queue,
            start_signal=start.signal,
            start_signal_args=start.signal_args,
        )
        return
    with contextlib.suppress(WorkflowAlreadyStartedError):  # it ran before: the start was delivered
        await client.start_workflow(
            start.workflow,
            args=start.args,
            id=start.id,
            task_queue=start.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_outbox_table() -> None:
    """Migration step shared by every service that publishes (called from its Alembic scripts)."""
    from alembic import op

    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_outbox_delivered_at", "outbox", ["delivered_at"])
