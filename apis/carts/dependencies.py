"""What the carts routes take from a request: the service's lifespan state (the catalog client)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from contracts.products import ProductsClient
from kit.web import service_state


@dataclass(frozen=True)
class CartsState:
    """Opened once per app by `app.py`: the products service, called with this service's credentials."""

    catalog: ProductsClient


def get_catalog(request: Request) -> ProductsClient:
    return service_state(request, CartsState).catalog


CatalogDep = Annotated[ProductsClient, Depends(get_catalog)]
