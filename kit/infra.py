"""The one composition root: `open_infra(settings)` opens every port a process needs and closes them all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kit import db, tracing
from kit.bus import EventBus, Retry, open_bus
from kit.cache import Cache, open_cache
from kit.clients import ServiceClient, TokenSource
from kit.discovery import Registry, open_registry
from kit.outbox import OutboxMessage, OutboxRelay
from kit.settings import SERVICES, Settings
from kit.temporal import TemporalConnection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Infra:
    """Open ports of one service (or worker); the SQL fields are set only for services that own a database."""

    settings: Settings
    bus: EventBus
    cache: Cache
    registry: Registry
    temporal: TemporalConnection
    http: httpx.AsyncClient
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    outbox: OutboxRelay | None = None

    def client(self, service: str, *, token: TokenSource | None = None) -> ServiceClient:
        """A client of another service over this process's shared connection pool."""
        return ServiceClient(
            self.registry, service, timeout=self.settings.service_call_timeout, token=token, http=self.http
        )


@contextlib.asynccontextmanager
async def open_infra(settings: Settings, *, migrations: Path | None = None) -> AsyncIterator[Infra]:
    """Open the bus, cache, discovery and Temporal connection; with `migrations`, also the service's
    database (migrated when `auto_migrate`) and its outbox relay.
    """
    async with contextlib.AsyncExitStack() as stack:
        retry = Retry(attempts=settings.bus_handler_attempts, max_delay=settings.bus_max_backoff)
        bus = await stack.enter_async_context(
            open_bus(settings.bus_url, client_id=settings.service_name, retry=retry)
        )
        cache = await stack.enter_async_context(open_cache(settings.cache_url))
        defaults = {name: f"http://{settings.host}:{settings.port_of(name)}" for name in SERVICES}
        registry = await stack.enter_async_context(open_registry(settings.discovery_url, defaults))
        temporal = TemporalConnection(settings)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=settings.service_call_timeout))
        tracing.instrument_httpx(http)
        if migrations is None:
            yield Infra(settings, bus, cache, registry, temporal, http)
            return
        engine = db.open_engine(settings.service_database_url)
        stack.push_async_callback(engine.dispose)
        if settings.auto_migrate:
            await db.migrate(engine, migrations)
        relay = OutboxRelay(
            engine,
            bus,
            temporal,
            poll_interval=settings.outbox_poll_interval,
            max_attempts=settings.outbox_max_attempts,
            name=settings.service_name,
        )
        relay_task = asyncio.create_task(relay.run(), name=f"outbox:{settings.service_name}")
        stack.push_async_callback(_stop, relay, relay_task)
        sessions = db.session_factory(engine, on_commit=relay.wake, writing=OutboxMessage)
        yield Infra(settings, bus, cache, registry, temporal, http, engine, sessions, relay)


async def _stop(relay: OutboxRelay, task: asyncio.Task[None]) -> None:
    relay.stop()
    try:
        await asyncio.wait_for(task, timeout=10)
    except TimeoutError:
        log.warning("the outbox relay did not stop in time")
