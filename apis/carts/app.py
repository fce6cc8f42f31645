"""Carts service: guest and user carts with expiry, priced by the catalog."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from apis.carts.routes import router
from apis.products.client import Catalog
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service


@contextlib.asynccontextmanager
async def _catalog(infra: Infra) -> AsyncIterator[dict[str, Catalog]]:
    """The products service, called with this service's own credentials."""
    yield {"catalog": Catalog(infra.client("products", token=service_tokens(infra, "carts")))}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service("carts")
    return create_service(settings, title="Carts service", routers=[router], resources=_catalog)
