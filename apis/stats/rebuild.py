"""Rebuild the read model from the beginning of its topics: empty every table and replay both topics
through the same counting as the live consumer, in one transaction, so readers see the old figures until
the new ones are complete, and a failure leaves the old ones.

The live consumer goes on meanwhile: the rebuild first locks `handled_events` (PostgreSQL: a table lock
that lets reads through; SQLite: its one writer), so a live event waits, then finds its id handled if the
replay counted it, or counts it on top if it came after. A replay covers what the topics still hold: the
embedded bus keeps 7 days (`?retention_days=`), Kafka its topics' `retention.ms` (set -1 to keep all).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.stats import handlers
from apis.stats.models import Base, Customer, DailyFigures
from apis.stats.schemas import Rebuilt
from kit.bus import TopicReader
from kit.errors import AppError

READ_MODEL = [table for name, table in Base.metadata.tables.items() if name != "outbox"]


class CannotReplay(AppError):
    status_code = 503
    default_code = "BusCannotReplay"


async def rebuild(sessions: async_sessionmaker[AsyncSession], bus: object) -> Rebuilt:
    """Empty the read model and count every event of both topics again, oldest first; commits."""
    if not isinstance(bus, TopicReader):
        raise CannotReplay("This bus cannot be read from its beginning")
    async with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(sa.text("LOCK TABLE handled_events IN EXCLUSIVE MODE"))
        for table in READ_MODEL:
            await session.execute(table.delete())
        events = [event for topic in handlers.TOPICS for event in await bus.read(topic)]
        events.sort(key=lambda event: event.timestamp)
        applied = 0
        for event in events:
            applied += await handlers.apply(session, event)
        customers = await session.scalar(sa.select(sa.func.count()).select_from(Customer)) or 0
        orders = await session.scalar(sa.select(sa.func.coalesce(sa.func.sum(DailyFigures.new_orders), 0)))
    return Rebuilt(events=len(events), applied=applied, customers=customers, orders=int(orders or 0))
