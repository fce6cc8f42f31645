"""Local copies of another service's data, kept from its events: each event applied once (its id recorded
in the transaction of its change) and never over a newer copy (each copy keeps the version it came from).

An event without a version is older than any versioned copy: a first state by definition (`USER_CREATED`),
or one published before versions existed, which still updates a copy that has no version either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kit.bus import Event
from kit.db import UTCDateTime, now

FINAL_VERSION = 2**62  # the version of a copy nothing may change any more (a deleted product)

Apply = Callable[[AsyncSession, Event], Awaitable[None]]
Handler = Callable[[Event], Awaitable[None]]


class _KitTable(SQLModel, registry=registry()):
    """The kit's tables, on no service's metadata: a service keeping copies holds a copy of this one."""


class HandledEvent(_KitTable, table=True):
    """Bus events already applied, so a redelivery changes nothing (written with the change itself); a
    service takes it into its tables with `service_registry(OutboxMessage, HandledEvent)`.
    """

    __tablename__ = "handled_events"

    id: str = Field(primary_key=True, max_length=100)
    handled_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


async def keep_newest(
    session: AsyncSession,
    model: type[Any],
    key: str,
    fields: dict[str, Any],
    version: int | None,
    *,
    create: bool = True,
) -> None:
    """Apply `fields` to the copy `model[key]` (created when missing, if `create`) unless it holds a newer
    version; `model` has `version` and `updated_at` columns.
    """
    fields = {**fields, "updated_at": now()}
    row = await session.get(model, key)
    if row is None:
        if create:
            session.add(model(id=key, version=version or 0, **fields))
        return
    newer = row.version == 0 if version is None else version > row.version
    if not newer:
        return
    for name, value in {**fields, "version": version or 0}.items():
        setattr(row, name, value)


def once(
    sessions: async_sessionmaker[AsyncSession], handled: type[Any], appliers: Mapping[str, Apply]
) -> Handler:
    """The bus handler: each event of a known type applied in a transaction that also records its id in the
    `handled` table (a redelivery finds it there and does nothing).
    """

    async def handle(event: Event) -> None:
        apply = appliers.get(event.type)
        if apply is None:
            return
        async with sessions() as session, session.begin():
            if await session.get(handled, event.id) is not None:
                return
            session.add(handled(id=event.id))
            await apply(session, event)

    return handle
