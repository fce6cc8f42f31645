"""Reviews service: customers' reviews of products, with its own database, so that a flood of reviews never
slows the catalog; the products' figures over them flow to the catalog and search as REVIEW_UPDATED.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from apis.reviews import handlers
from apis.reviews.routes import router
from apis.reviews.service import Peers
from contracts import orders, products, reviews
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service

MIGRATIONS = Path(__file__).parent / "migrations"


async def _subscribe(infra: Infra) -> None:
    assert infra.sessions is not None
    handlers.subscribe(infra.bus, infra.sessions)


@contextlib.asynccontextmanager
async def _state(infra: Infra) -> AsyncIterator[Peers]:
    token = service_tokens(infra, reviews.SERVICE)
    yield Peers(
        purchases=orders.PurchasesClient(infra.client(orders.SERVICE, token=token)),
        catalog=products.ProductsClient(infra.client(products.SERVICE)),  # public reads
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service(reviews.SERVICE)
    return create_service(
        settings,
        title="Reviews service",
        routers=[router],
        migrations=MIGRATIONS,
        on_startup=_subscribe,
        state=_state,
    )
