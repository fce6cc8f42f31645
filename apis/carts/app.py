"""Carts service: guest and user carts with expiry, priced by the catalog."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from apis.carts.dependencies import CartsState
from apis.carts.routes import router
from contracts import carts, products
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service


@contextlib.asynccontextmanager
async def _state(infra: Infra) -> AsyncIterator[CartsState]:
    http = infra.client(products.SERVICE, token=service_tokens(infra, carts.SERVICE))
    yield CartsState(catalog=products.ProductsClient(http))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service(carts.SERVICE)
    return create_service(settings, title="Carts service", routers=[router], state=_state)
