"""`/products` and `/suggest` of the search service (`/search/...` at the gateway): anyone may search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from apis.search import reads
from apis.search.dependencies import AttributesDep, DisplayRate, IndexDep
from apis.search.schemas import ProductSearch, SearchResults, Suggest, Suggestions
from kit.localisation import LanguageDep

router = APIRouter(tags=["search"])

_ATTRIBUTES_PARAMETER = {
    "name": "attributes[Key]",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "`attributes[Color]=Red&attributes[Color]=Blue&attributes[Size]=M`: some variant is Red "
    "or Blue, and some variant is M (OR within a key, AND across keys).",
}


@router.get(
    "/products",
    summary="Search products: ranked, typo-tolerant text, filters and facets; texts in the caller's "
    "language, prices in the currency of `X-Currency`",
    openapi_extra={"parameters": [_ATTRIBUTES_PARAMETER]},
)
async def search_products(
    index: IndexDep,
    params: Annotated[ProductSearch, Query()],
    attributes: AttributesDep,
    language: LanguageDep,
    rate: DisplayRate,
) -> SearchResults:
    return await reads.search_products(index, params, attributes, language, rate)


@router.get("/suggest", summary="Product names a word of which starts with `q`, in the caller's language")
async def suggest(index: IndexDep, params: Annotated[Suggest, Query()], language: LanguageDep) -> Suggestions:
    return await reads.suggest(index, params.q, language, params.limit)
