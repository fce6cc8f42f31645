"""What the search routes take from a request: the service's lifespan state (the index, the catalog) and the
`attributes[Key]=Value` filters of the query string. (The caller's language: `kit.localisation`.) All are
async: FastAPI would run a plain function on a worker thread, a hop that costs more than the work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError

from apis.search.reindexing import Reindexer
from apis.search.schemas import (
    MAX_ATTRIBUTE_KEY,
    MAX_ATTRIBUTE_KEYS,
    MAX_ATTRIBUTE_VALUE,
    MAX_ATTRIBUTE_VALUES,
)
from contracts.currencies import CURRENCY_HEADER, CurrenciesClient, Rate, requested
from contracts.products import ProductsClient
from kit.search import SearchIndex
from kit.web import service_state

_ATTRIBUTE = re.compile(r"^attributes\[([^\[\]]*)\]$")


@dataclass(frozen=True)
class SearchState:
    """Opened once per app by `app.py`: the product index, ensured, the products service (called with
    this service's credentials) that a reindex or a reconcile reads the catalog from and the rates prices are
    shown in, and the reindex job.
    """

    index: SearchIndex
    catalog: ProductsClient
    reindexer: Reindexer
    currencies: CurrenciesClient  # the products service's rates, cached (contracts.currencies)


async def get_index(request: Request) -> SearchIndex:
    return service_state(request, SearchState).index


async def get_catalog(request: Request) -> ProductsClient:
    return service_state(request, SearchState).catalog


async def get_reindexer(request: Request) -> Reindexer:
    return service_state(request, SearchState).reindexer


async def display_rate(
    request: Request,
    currency: Annotated[
        str | None,
        Header(
            alias=CURRENCY_HEADER,
            description="`EUR`: prices (and `minPrice`/`maxPrice`) in EUR, `basePrice` kept; a currency "
            "without a rate is a 400 `UnknownCurrency`",
        ),
    ] = None,
) -> Rate:
    """The rate of `X-Currency` (read from the products service through a cache of a few seconds)."""
    return await service_state(request, SearchState).currencies.rate(requested(currency))


def _problem(field: str, message: str) -> dict[str, Any]:
    return {"loc": ("query", field), "msg": message, "type": "value_error"}


async def attribute_filters(request: Request) -> dict[str, list[str]]:
    """`attributes[Color]=Red&attributes[Color]=Blue&attributes[Size]=M` -> `{Color: [Red, Blue], Size: [M]}`
    (the seed's `qs` form); any other `attributes...` parameter, or one out of bounds, is a 400 naming it.
    """
    found: dict[str, list[str]] = {}
    problems: list[dict[str, Any]] = []
    for name, raw in request.query_params.multi_items():
        if not name.startswith("attributes"):
            continue
        match = _ATTRIBUTE.match(name)
        key, value = (match.group(1).strip() if match else ""), raw.strip()
        if not key or len(key) > MAX_ATTRIBUTE_KEY or ":" in key:
            problems.append(
                _problem(
                    name,
                    f"use attributes[Key]=Value, a Key of 1 to {MAX_ATTRIBUTE_KEY} characters without ':'",
                )
            )
        elif not value or len(value) > MAX_ATTRIBUTE_VALUE:
            problems.append(_problem(name, f"a value of 1 to {MAX_ATTRIBUTE_VALUE} characters"))
        elif value not in (values := found.setdefault(key, [])):
            values.append(value)
    if len(found) > MAX_ATTRIBUTE_KEYS:
        problems.append(_problem("attributes", f"at most {MAX_ATTRIBUTE_KEYS} keys"))
    problems += [
        _problem(f"attributes[{key}]", f"at most {MAX_ATTRIBUTE_VALUES} values")
        for key, values in found.items()
        if len(values) > MAX_ATTRIBUTE_VALUES
    ]
    if problems:
        raise RequestValidationError(problems)
    return found


IndexDep = Annotated[SearchIndex, Depends(get_index)]
CatalogDep = Annotated[ProductsClient, Depends(get_catalog)]
ReindexerDep = Annotated[Reindexer, Depends(get_reindexer)]
DisplayRate = Annotated[Rate, Depends(display_rate)]
AttributesDep = Annotated[dict[str, list[str]], Depends(attribute_filters)]
