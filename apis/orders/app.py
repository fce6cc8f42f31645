"""Orders service: orders and returns, the order-placement saga and the returns' workflow (run by
`commerce worker orders`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from apis.orders import handlers, notifications
from apis.orders.dependencies import OrdersState
from apis.orders.placing import Settlements
from apis.orders.return_routes import router as returns_router
from apis.orders.routes import router
from contracts import carts, currencies, orders, products
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.mail import open_mailer
from kit.settings import Settings
from kit.web import create_service

MIGRATIONS = Path(__file__).parent / "migrations"


async def _subscribe(infra: Infra) -> None:
    assert infra.sessions is not None
    handlers.subscribe(infra.bus, infra.sessions)
    mailer = open_mailer(infra.settings.mail_url, timeout=infra.settings.service_call_timeout)
    notifications.subscribe(infra.bus, notifications.Notifier(infra.sessions, mailer, infra.settings))


@contextlib.asynccontextmanager
async def _state(infra: Infra) -> AsyncIterator[OrdersState]:
    token = service_tokens(infra, orders.SERVICE)
    yield OrdersState(
        catalog=products.ProductsClient(infra.client(products.SERVICE, token=token)),
        currencies=currencies.CurrenciesClient(infra.client(products.SERVICE)),  # public reads
        carts=carts.CartsClient(infra.client(carts.SERVICE, token=token)),
        settlements=Settlements(),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service(orders.SERVICE)
    return create_service(
        settings,
        title="Orders service",
        routers=[returns_router, router],
        migrations=MIGRATIONS,
        on_startup=_subscribe,
        state=_state,
    )
