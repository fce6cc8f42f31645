"""What the orders routes take from a request: the service's lifespan state (clients of the catalog and the
carts) and the caller's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from apis.orders.placing import Settlements
from apis.orders.reads import language
from contracts.carts import CartsClient
from contracts.currencies import CurrenciesClient
from contracts.products import ProductsClient
from kit.web import service_state


@dataclass(frozen=True)
class OrdersState:
    """Opened once per app by `app.py`: the catalog (prices, rates) and the carts, called with this service's
    own credentials, and the requests waiting for their orders to settle.
    """

    catalog: ProductsClient
    carts: CartsClient
    currencies: CurrenciesClient
    settlements: Settlements


async def get_state(request: Request) -> OrdersState:
    return service_state(request, OrdersState)


async def caller_language(accept_language: Annotated[str | None, Header(max_length=500)] = None) -> str:
    return language(accept_language)


StateDep = Annotated[OrdersState, Depends(get_state)]
Language = Annotated[str, Depends(caller_language)]
