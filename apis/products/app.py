"""Products service: catalog, categories, variants and the stock ledger."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from apis.products import demo, handlers
from apis.products.dependencies import ProductsState
from apis.products.events import Notifier
from apis.products.routes import ROUTERS
from apis.products.service import stock
from apis.products.service.images import ImageCheck
from contracts import images, products
from kit import metrics
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service

MIGRATIONS = Path(__file__).parent / "migrations"


@contextlib.asynccontextmanager
async def _state(infra: Infra) -> AsyncIterator[ProductsState]:
    http = infra.client(images.SERVICE, token=service_tokens(infra, products.SERVICE))
    sessions = infra.sessions
    assert sessions is not None

    async def reconcile_stock() -> None:  # its drift, for the scrapes of /metrics
        async with sessions() as session:
            await stock.reconcile(session)

    with metrics.refreshing(reconcile_stock, every=infra.settings.stock_reconcile_every):
        yield ProductsState(images=ImageCheck(images.ImagesClient(http), infra.settings.images_public_url))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service(products.SERVICE)

    async def first_start(infra: Infra) -> None:
        assert infra.sessions is not None
        notify = Notifier.from_settings(settings)
        if settings.demo_catalog:
            await demo.seed_on_first_start(infra.sessions, notify, products=settings.demo_catalog)
        handlers.subscribe(infra.bus, infra.sessions, notify)

    return create_service(
        settings,
        title="Products service",
        description="Catalog (two-level categories, products, variants, images) and the stock ledger.",
        routers=ROUTERS,
        migrations=MIGRATIONS,
        on_startup=first_start,
        state=_state,
    )
