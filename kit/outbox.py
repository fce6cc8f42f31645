"""Transactional outbox: events, workflow starts and signals are written in the same transaction as the
change, and a relay delivers them after commit, retrying until the bus or Temporal accepts them.

A crash right after a commit loses nothing: the rows wait in the service's own database. Delivery is at
least once and in order per key; consumers de-duplicate by event id, workflow starts by workflow id, and
a signal's handler must take a repeat as done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased, registry
from sqlmodel import JSON, Column, Field, SQLModel, col
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from kit import db, metrics, tracing
from kit.bus import Event, EventBus

log = logging.getLogger(__name__)

_CLAIM_LOCK = 0x6F7574626F78  # PostgreSQL advisory lock taken by claims: 'outbox'
TRACE_KEY = "trace"  # in a row's body: the trace context (W3C headers) of the change that wrote it


class _KitTable(SQLModel, registry=registry()):
    """The kit's tables, on no service's metadata: each service that keeps one copies it into its own."""


class OutboxMessage(_KitTable, table=True):
    """One pending delivery; `id` is the event id or the workflow id, for operators and logs."""

    __tablename__ = "outbox"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    key: str = Field(max_length=200)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=db.now, sa_type=db.UTCDateTime)
    available_at: datetime = Field(default_factory=db.now, sa_type=db.UTCDateTime)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_at: datetime | None = Field(default=None, sa_type=db.UTCDateTime, index=True)


class WorkflowStart(BaseModel):
    """A workflow to start (or to signal-with-start, when `signal` is set) once the change is committed."""

    workflow: str
    id: str
    task_queue: str
    args: list[Any] = []
    signal: str | None = None
    signal_args: list[Any] = []
    search_attributes: dict[str, str] = {}  # keyword attributes the run is listed by before it first runs


class WorkflowSignal(BaseModel):
    """A signal to a running workflow, sent once the change is committed (and only to a run that is still
    open: a workflow that has ended, or never started, takes nothing, and that counts as delivered).
    """

    workflow_id: str
    signal: str
    args: list[Any] = []


def record_event(session: AsyncSession, event: Event) -> None:
    """Queue `event` for the bus in the caller's transaction, with the trace it belongs to."""
    body = {"topic": event.topic, "event": event.model_dump(mode="json", by_alias=True), **_trace()}
    session.add(OutboxMessage(id=event.id, kind="event", key=event.key, body=body))


def record_workflow(
    session: AsyncSession,
    start: WorkflowStart,
    *,
    dedup_id: str | None = None,
    fallback_after: timedelta | None = None,
) -> None:
    """Queue a workflow start in the caller's transaction; `dedup_id` defaults to the workflow id.

    `fallback_after`: the caller starts it itself once committed (`start_recorded`), and the relay only
    if that has not been recorded within this delay (the caller failed or died): one start, not two.
    """
    body = {**start.model_dump(), **_trace()}
    message = OutboxMessage(id=dedup_id or start.id, kind="workflow", key=start.id, body=body)
    if fallback_after is not None:
        message.available_at = message.created_at + fallback_after
    session.add(message)


async def start_recorded(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    start: WorkflowStart,
    *,
    dedup_id: str | None = None,
) -> None:
    """Start a workflow recorded with `fallback_after` now, then mark its row delivered so the relay
    leaves it; a failure leaves the row to the relay, due once its delay has passed.
    """
    await start_workflow(client, start)
    table = OutboxMessage
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(table)
            .where(
                col(table.id) == (dedup_id or start.id),
                col(table.kind) == "workflow",
                col(table.delivered_at).is_(None),
            )
            .values(delivered_at=db.now())
        )


def _trace() -> dict[str, dict[str, str]]:
    """The context of the transaction writing a row, for the relay to deliver it in (kit.tracing)."""
    carrier = tracing.carrier()
    return {TRACE_KEY: carrier} if carrier else {}


def record_signal(session: AsyncSession, signal: WorkflowSignal, *, dedup_id: str) -> None:
    """Queue a signal in the caller's transaction, keyed by its workflow id: it follows that workflow's
    start (and any earlier signal) queued in the same database.
    """
    body = {**signal.model_dump(), **_trace()}
    session.add(OutboxMessage(id=dedup_id, kind="signal", key=signal.workflow_id, body=body))


class OutboxRelay:
    """Delivers pending outbox rows; woken after each commit, and polling in case a wake-up was missed.

    A pass claims due rows in one short transaction (a lease: `available_at` moves to the lease's end and
    `attempts` grows), delivers them with no transaction open, then records the outcome in another short
    transaction, only where the claim still holds. A relay that dies leaves rows that come due again when
    the lease ends, so several relays (a rolling deploy) can share one database.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        bus: EventBus,
        temporal: Callable[[], Awaitable[Client]] | None = None,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 100,
        max_attempts: int = 20,
        lease: timedelta = timedelta(seconds=60),
        retry_delay: timedelta = timedelta(seconds=0.5),
        retention: timedelta = timedelta(days=7),
        name: str = "",
    ) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._postgres = engine.dialect.name == "postgresql"
        self._bus = bus
        self._temporal = temporal
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._lease = lease
        self._retry_delay = retry_delay
        self._retention = retention
        self._wake = asyncio.Event()
        self._stopping = False
        self._last_purge = datetime.min.replace(tzinfo=UTC)
        self._name = name  # the service, in the backlog's metrics
        self._claiming = self._claim_statement()

    def wake(self) -> None:
        """Ask for a delivery pass now (called after a commit)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`; one failing destination never stops the others. Meanwhile each scrape of
        the metrics reads the backlog.
        """
        with metrics.refreshing(self.sample_backlog):
            while not self._stopping:
                try:
                    if await self.deliver_pending() >= self._batch_size:
                        continue  # a full batch: more may be waiting
                except Exception:
                    log.exception("outbox pass failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                self._wake.clear()

    async def sample_backlog(self) -> None:
        """Set the backlog gauges: rows undelivered, parked among them, and the oldest one's age."""
        undelivered = col(OutboxMessage.delivered_at).is_(None)
        parked = col(OutboxMessage.attempts) >= self._max_attempts
        query = sa.select(
            sa.func.count(),
            sa.func.count().filter(parked),
            sa.func.min(col(OutboxMessage.created_at)),
        ).where(undelivered)
        async with self._sessions() as session:
            count, stuck, oldest = (await session.execute(query)).one()
        age = (db.now() - oldest).total_seconds() if oldest is not None else 0.0
        metrics.OUTBOX_BACKLOG.labels(self._name).set(count)
        metrics.OUTBOX_PARKED.labels(self._name).set(stuck)
        metrics.OUTBOX_OLDEST_SECONDS.labels(self._name).set(max(0.0, age))

    def stop(self) -> None:
        """End `run()` after the current pass: cancelling a pass mid-query can wedge a SQLite connection."""
        self._stopping = True
        self._wake.set()

    async def deliver_pending(self) -> int:
        """One pass: claim what is due, deliver it, record the outcome; returns how many were delivered."""
        started = asyncio.get_running_loop().time()
        lease_end = db.now() + self._lease
        by_key: dict[str, list[OutboxMessage]] = {}
        for message in await self._claim(lease_end):
            by_key.setdefault(message.key, []).append(message)
        await self._purge()
        if not by_key:
            return 0
        outcomes = await asyncio.gather(*(self._deliver_in_order(run, started) for run in by_key.values()))
        return await self._record([o for key_outcomes in outcomes for o in key_outcomes], lease_end)

    async def _claim(self, lease_end: datetime) -> list[OutboxMessage]:
        """Lease the oldest due rows whose earlier rows of the same key are all due too (and so claimed
        with them): a row never overtakes an earlier one of its key, whether backing off, parked or leased.
        """
        async with self._sessions() as session, session.begin():
            if self._postgres:  # claims take turns, each reading what the previous one committed
                await session.execute(sa.select(sa.func.pg_advisory_xact_lock(_CLAIM_LOCK)))
            claimed = await session.scalars(self._claiming, {"now": db.now(), "lease_end": lease_end})
            return sorted(claimed.all(), key=lambda m: m.seq or 0)

    def _claim_statement(self) -> sa.Update:
        """The claim's UPDATE, built once: building it is most of a claim's cost, and a relay claims after
        every commit that wrote a row and at every poll.
        """
        now = sa.bindparam("now", type_=db.UTCDateTime())
        lease_end = sa.bindparam("lease_end", type_=db.UTCDateTime())
        row, earlier = aliased(OutboxMessage), aliased(OutboxMessage)
        held_back = sa.exists().where(
            col(earlier.key) == col(row.key),
            col(earlier.seq) < col(row.seq),
            col(earlier.delivered_at).is_(None),
            sa.or_(col(earlier.available_at) > now, col(earlier.attempts) >= self._max_attempts),
        )
        due = (
            sa.select(col(row.seq))
            .where(
                col(row.delivered_at).is_(None),
                col(row.available_at) <= now,
                col(row.attempts) < self._max_attempts,
                ~held_back,
            )
            .order_by(col(row.seq))
            .limit(self._batch_size)
        )
        return (
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.seq).in_(due.scalar_subquery()), col(OutboxMessage.available_at) <= now)
            .values(attempts=OutboxMessage.attempts + 1, available_at=lease_end)
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False)
        )

    async def _deliver_in_order(self, messages: list[OutboxMessage], started: float) -> list[_Outcome]:
        """Deliver one key's rows in turn; after a failure, or once the lease runs short, release the rest."""
        timeout = self._lease.total_seconds() / 4  # every delivery ends before half the lease has passed
        outcomes: list[_Outcome] = []
        for message in messages:
            if any(o.error for o in outcomes) or asyncio.get_running_loop().time() - started > timeout:
                outcomes.append(_Outcome(message, released=True))
                continue
            try:
                async with asyncio.timeout(timeout):
                    await self._deliver(message)
            except Exception as exc:
                log.warning("outbox delivery failed", extra={"outboxId": message.id, "error": repr(exc)})
                outcomes.append(_Outcome(message, error=repr(exc)[:1000] or "failed"))
            else:
                outcomes.append(_Outcome(message))
        return outcomes

    async def _record(self, outcomes: list[_Outcome], lease_end: datetime) -> int:
        """Write each outcome where this pass's claim still holds (the row still carries its lease end)."""
        now, table = db.now(), OutboxMessage
        delivered = [o.message.seq for o in outcomes if not o.error and not o.released]
        released = [o.message.seq for o in outcomes if o.released]
        claimed = col(table.available_at) == lease_end
        async with self._sessions() as session, session.begin():
            done = await session.execute(
                sa.update(table).where(col(table.seq).in_(delivered), claimed).values(delivered_at=now)
            )
            await session.execute(
                sa.update(table)
                .where(col(table.seq).in_(released), claimed)
                .values(attempts=table.attempts - 1, available_at=now)  # not an attempt after all
            )
            for outcome in outcomes:
                if outcome.error:
                    await session.execute(
                        sa.update(table)
                        .where(col(table.seq) == outcome.message.seq, claimed)
                        .values(last_error=outcome.error, available_at=self._retry_at(outcome.message, now))
                    )
        if done.rowcount != len(delivered):  # type: ignore[attr-defined]
            log.warning("outbox lease ran out before delivery was recorded; rows will be sent again")
        return len(delivered)

    def _retry_at(self, message: OutboxMessage, now: datetime) -> datetime:
        """Exponential backoff, capped at a minute; a row out of attempts is parked at once."""
        if message.attempts >= self._max_attempts:
            log.error("outbox row parked", extra={"outboxId": message.id, "attempts": message.attempts})
            return now
        delay = min(60.0, self._retry_delay.total_seconds() * 2**message.attempts)
        return now + timedelta(seconds=delay)

    async def _purge(self) -> None:
        now = db.now()
        if now - self._last_purge < timedelta(hours=1):
            return
        self._last_purge = now
        async with self._sessions() as session, session.begin():
            await session.execute(
                sa.delete(OutboxMessage).where(col(OutboxMessage.delivered_at) < now - self._retention)
            )

    async def _deliver(self, message: OutboxMessage) -> None:
        carried = message.body.get(TRACE_KEY)
        with tracing.resumed(carried, f"outbox deliver {message.kind}", **{"outbox.id": message.id}):
            await self._deliver_now(message)

    async def _deliver_now(self, message: OutboxMessage) -> None:
        if message.kind == "event":
            fields = {**message.body["event"], "topic": message.body["topic"], "key": message.key}
            await self._bus.publish(Event.model_validate(fields))
            return
        if self._temporal is None:
            raise RuntimeError("this process has no Temporal connection")
        if message.kind == "signal":
            await signal_workflow(await self._temporal(), WorkflowSignal.model_validate(message.body))
            return
        await start_workflow(await self._temporal(), WorkflowStart.model_validate(message.body))


@dataclass(frozen=True)
class _Outcome:
    message: OutboxMessage
    error: str | None = None
    released: bool = False


def is_parked(message: OutboxMessage, max_attempts: int) -> bool:
    """Out of attempts and not in flight: it waits for `commerce outbox replay`, holding back its key."""
    return (
        message.delivered_at is None and message.attempts >= max_attempts and message.available_at <= db.now()
    )


async def pending_messages(
    engine: AsyncEngine, *, max_attempts: int, parked: bool = False
) -> list[OutboxMessage]:
    """Undelivered rows, oldest first (only the parked ones with `parked`), for operators."""
    query = sa.select(OutboxMessage).where(col(OutboxMessage.delivered_at).is_(None))
    if parked:
        query = query.where(
            col(OutboxMessage.attempts) >= max_attempts, col(OutboxMessage.available_at) <= db.now()
        )
    async with async_sessionmaker(engine)() as session:
        return list((await session.scalars(query.order_by(col(OutboxMessage.seq)))).all())


async def replay_parked(engine: AsyncEngine, *, max_attempts: int, message_id: str | None = None) -> int:
    """Give parked rows (all, or those with `message_id`) a fresh set of attempts; returns how many."""
    now = db.now()
    query = sa.update(OutboxMessage).where(
        col(OutboxMessage.delivered_at).is_(None),
        col(OutboxMessage.attempts) >= max_attempts,
        col(OutboxMessage.available_at) <= now,
    )
    if message_id is not None:
        query = query.where(col(OutboxMessage.id) == message_id)
    async with engine.begin() as connection:
        result = await connection.execute(query.values(attempts=0, available_at=now))
    return int(result.rowcount)


async def start_workflow(client: Client, start: WorkflowStart) -> None:
    """Start once per workflow id (a duplicate is success), or signal-with-start to coalesce bursts."""
    pairs = start.search_attributes.items()
    attributes = TypedSearchAttributes(
        [SearchAttributePair(SearchAttributeKey.for_keyword(name), value) for name, value in pairs]
    )
    if start.signal:
        await client.start_workflow(
            start.workflow,
            args=start.args,
            id=start.id,
            task_queue=start.task_queue,
            start_signal=start.signal,
            start_signal_args=start.signal_args,
            search_attributes=attributes,
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
            search_attributes=attributes,
            request_eager_start=True,  # its first task to a worker of this process's client, if one polls it
        )


async def signal_workflow(client: Client, signal: WorkflowSignal) -> None:
    """Signal the workflow's open run; none open (it ended, or never started) is a delivery too."""
    try:
        await client.get_workflow_handle(signal.workflow_id).signal(signal.signal, args=signal.args)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        log.info("signal not delivered: no open run", extra={"workflowId": signal.workflow_id})


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
