"""The queries that answer the search API's GETs, and the presenters that shape their answers: hits in the
caller's language, as the products service's listing shows its products, and the seed's facet names.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from apis.search.schemas import (
    AttributeFacet,
    AttributeOption,
    CategoryFacet,
    Facets,
    PriceRangeFacet,
    ProductSearch,
    SearchMeta,
    SearchResults,
    Suggestions,
)
from contracts.currencies import BASE_RATE, Rate, amount_text
from kit.localisation import localise
from kit.schemas import Pagination
from kit.search import SearchIndex, SearchPage, SearchQuery


async def search_products(
    index: SearchIndex,
    params: ProductSearch,
    attributes: Mapping[str, list[str]],
    language: str,
    rate: Rate = BASE_RATE,
) -> SearchResults:
    """One page of the products matching `params`, with the facets of all of them; prices and price bounds
    in `rate`'s currency (the facets' price ranges stay in the base currency, `meta.baseCurrency`).
    """
    query = SearchQuery(
        text=params.q,
        language=language,
        category=params.category,
        min_price=None if params.min_price is None else rate.to_base(params.min_price),
        max_price=None if params.max_price is None else rate.to_base(params.max_price),
        in_stock=params.in_stock == "true",
        attributes=attributes,
        page=params.page,
        limit=params.limit,
        sort_by=params.sort_by,
        sort_order=params.sort_order,
    )
    found = await index.search(query)
    return SearchResults(
        data=[priced(localised(hit, language), rate) for hit in found.hits],
        meta=SearchMeta(currency=rate.code, display_currency=rate.code, rate=rate.rate_vs_base),
        pagination=Pagination.of(found.total, params.page, params.limit),
        facets=facets(found),
    )


async def suggest(index: SearchIndex, prefix: str, language: str, limit: int) -> Suggestions:
    return Suggestions(suggestions=await index.suggest(prefix, language=language, limit=limit))


def localised(document: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The stored document with its name, description and category names in `language` (English where
    a text lacks it), as `GET /products` of the products service shows them.
    """
    shown = dict(document)
    shown["name"] = localise(document.get("name"), language) or document.get("sku")
    shown["description"] = localise(document.get("description"), language)
    if "category_names" in document:
        shown["category_names"] = [localise(name, language) or "" for name in document["category_names"]]
    return shown


def priced(document: dict[str, Any], rate: Rate) -> dict[str, Any]:
    """The document with its variants' prices in `rate`'s currency, each base price kept (`basePrice`)."""
    variants = document.get("variants")
    if not isinstance(variants, list):
        return document
    shown = []
    for variant in variants:
        price = variant.get("price") if isinstance(variant, dict) else None
        if price is None:
            shown.append(variant)
            continue
        base = Decimal(str(price))
        shown.append({**variant, "price": amount_text(rate.convert(base)), "basePrice": money_text(base)})
    return {**document, "variants": shown}


def money_text(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _number(bound: Decimal | None) -> float | None:
    return None if bound is None else float(bound)


def facets(found: SearchPage) -> Facets:
    return Facets(
        categories=[CategoryFacet(slug=facet.value, count=facet.count) for facet in found.categories],
        attributes=[
            AttributeFacet(
                name=name, options=[AttributeOption(value=o.value, count=o.count) for o in options]
            )
            for name, options in found.attributes.items()
        ],
        price_ranges=[
            PriceRangeFacet(key=r.key, from_=_number(r.low), to=_number(r.high), count=r.count)
            for r in found.price_ranges
        ],
    )
