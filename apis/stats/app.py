"""Statistics service: a read model of `auth_events` and `order_events` (customers, orders, revenue, the
top-selling variants), with its own database, which can be dropped and rebuilt from the topics.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from apis.stats import handlers
from apis.stats.routes import router
from contracts import stats
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service

MIGRATIONS = Path(__file__).parent / "migrations"


async def _subscribe(infra: Infra) -> None:
    assert infra.sessions is not None
    handlers.subscribe(infra.bus, infra.sessions)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service(stats.SERVICE)
    return create_service(
        settings,
        title="Statistics service",
        routers=[router],
        migrations=MIGRATIONS,
        on_startup=_subscribe,
    )
