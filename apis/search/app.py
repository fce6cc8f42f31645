"""Search service: the product index, queries and facets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from apis.search.dependencies import SearchState
from apis.search.reindexing import Reindexer
from apis.search.routes import ROUTERS
from contracts import products, search
from contracts.currencies import CurrenciesClient
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.search import open_search
from kit.settings import Settings
from kit.web import Check, create_service


@contextlib.asynccontextmanager
async def _state(infra: Infra) -> AsyncIterator[SearchState]:
    """The index of `COMMERCE_SEARCH_URL`, created if missing (never emptied: a restart keeps it)."""
    catalog = products.ProductsClient(
        infra.client(products.SERVICE, token=service_tokens(infra, search.SERVICE))
    )
    async with open_search(infra.settings.search_url) as index:
        await index.ensure()
        reindexer = Reindexer(index, catalog)
        try:
            yield SearchState(
                index=index,
                catalog=catalog,
                reindexer=reindexer,
                currencies=CurrenciesClient(infra.client(products.SERVICE)),
            )
        finally:
            await reindexer.close()


def _checks(state: SearchState) -> dict[str, Check]:
    return {"search": state.index.ping}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service(search.SERVICE)
    return create_service(settings, title="Search service", routers=ROUTERS, state=_state, checks=_checks)
