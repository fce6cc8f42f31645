"""What the Elasticsearch adapter sends: the index's settings and mapping, a product's body, a search's body.

The minimal distribution (the one the tests run) has no `analysis-common` module, so neither the
`asciifolding` filter nor the language analyzers exist there. Accents are folded here, in Python, on both
the indexed text and the query text; the analyzer is the standard tokenizer and `lowercase`, which every
distribution has, so an index behaves the same on the minimal and the full one.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from kit.search import PRICE_RANGES, SearchDocument, SearchQuery, price_range_key

LANGUAGES = ("en", "fr", "ar")  # the languages with their own text fields; others search English
MAPPING_VERSION = 3  # bump when the mapping changes: a rebuild then moves the alias to a new mapping
# Fields added to the mapping since its first version, added to a live generation made before them at start
# (`ensure`), so that its strict mapping takes the new documents until a rebuild moves the alias.
ADDED_FIELDS: dict[str, Any] = {"average_rating": {"type": "float"}}  # version 3
MAX_WINDOW = 10_000  # Elasticsearch's index.max_result_window: no page reaches past it
CATEGORY_FACETS = 200
ATTRIBUTE_FACETS = 1_000
SKU_BOOST = 3.0
WORD = re.compile(r"[^\W_]+")  # letters and digits, as the embedded index cuts words
MAX_WORDS = 32  # of a query's words, the ones searched (a 10 kB query stays one cheap request)
# name > category names > SKU (SKU_BOOST) > description > attribute values; then English.
BOOSTS = (("name", 5.0), ("category_names", 4.0), ("description", 2.0))
ENGLISH_BOOSTS = (("name", 2.5), ("category_names", 2.0), ("description", 1.0))

_KEYWORD = {"type": "keyword"}
_TEXT = {"type": "text", "analyzer": "folded"}

# Set explicitly: a change is searchable within this (ES's default of 1 s, unset, also lets an idle shard
# skip refreshes until a search waits for one); a catalog's few writes make frequent refreshes cheap.
REFRESH_INTERVAL = "250ms"
SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,  # one shard: exact facet counts and the same scores on every page
    "refresh_interval": REFRESH_INTERVAL,
    "auto_expand_replicas": "0-1",
    "analysis": {
        "analyzer": {"folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]}},
        "normalizer": {"folded": {"type": "custom", "filter": ["lowercase"]}},
    },
}

STEMMERS = {"en": "english", "fr": "french", "ar": "arabic"}  # in the full distribution only


def mappings(*, stemmers: bool) -> dict[str, Any]:
    """The explicit mapping; with `stemmers` (the server has the language analyzers), each language's
    text also gets a `.stemmed` subfield ("shoes" finds "shoe").
    """

    def text(lang: str) -> dict[str, Any]:
        stemmed = {"fields": {"stemmed": {"type": "text", "analyzer": STEMMERS[lang]}}} if stemmers else {}
        return _TEXT | stemmed

    return MAPPINGS | {
        "properties": MAPPINGS["properties"]
        | {
            f"{field}_{lang}": text(lang)
            for field in ("name", "description", "category_names")
            for lang in LANGUAGES
        }
    }


MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": _KEYWORD,
        "sku": {"type": "keyword", "normalizer": "folded", "fields": {"words": _TEXT}},
        "category_slugs": _KEYWORD,
        "attribute_pairs": _KEYWORD,  # "Key:Value" of every variant
        "attribute_values": _TEXT,
        **{
            f"{field}_{lang}": _TEXT
            for field in ("name", "description", "category_names")
            for lang in LANGUAGES
        },
        "variants": {
            "type": "nested",
            "properties": {
                "id": _KEYWORD,
                "price": {"type": "double"},  # scaled_float lives in a module the minimal distribution lacks
                "stock": {"type": "integer"},
                "attributes": _KEYWORD,
            },
        },
        "created_at": {"type": "date"},
        "updated_at": {"type": "date"},
        **ADDED_FIELDS,
        "names": {"type": "object", "enabled": False},  # the names as written, for suggestions
        "document": {"type": "object", "enabled": False},
    },
}


def fold(text: str) -> str:
    """Case and accents off (É -> e, ß -> ss, Arabic short vowels dropped), as `asciifolding` would."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def typos(word: str) -> bool:
    """Whether a folded query word may match with one edit: four letters or more, no digits."""
    return len(word) >= 4 and word.isalpha()


def _pairs(attributes: Any) -> list[str]:
    return sorted(f"{key}:{value}" for key, value in attributes.items())


def product_body(document: SearchDocument) -> dict[str, Any]:
    """The indexed form of one product."""
    body: dict[str, Any] = {
        "id": document.id,
        "sku": document.sku,
        "category_slugs": list(document.category_slugs),
        "attribute_pairs": sorted({pair for v in document.variants for pair in _pairs(v.attributes)}),
        "attribute_values": sorted(
            {fold(value) for v in document.variants for value in v.attributes.values()}
        ),
        "variants": [
            {
                "id": v.id,
                "price": float(v.price),
                "stock": v.stock_quantity,
                "attributes": _pairs(v.attributes),
            }
            for v in document.variants
        ],
        "created_at": document.created_at.isoformat(),
        "updated_at": document.updated_at.isoformat(),
        "average_rating": document.average_rating,
        "names": dict(document.name),
        "document": dict(document.document),
    }
    for lang in LANGUAGES:  # a text missing in a language is no field: suggestions fall back on English
        for field, texts in (("name", document.name), ("description", document.description)):
            if texts.get(lang):
                body[f"{field}_{lang}"] = fold(texts[lang])
        body[f"category_names_{lang}"] = [
            fold(names[lang]) for names in document.category_names if lang in names
        ]
    return body


def text_fields(language: str) -> list[str]:
    """The boosted fields of a text query: the query's language, then English."""
    lang = language if language in LANGUAGES else "en"
    boosted = [(f"{field}_{lang}", boost) for field, boost in BOOSTS]
    if lang != "en":
        boosted += [(f"{field}_en", boost) for field, boost in ENGLISH_BOOSTS]
    # A `.stemmed` subfield the index lacks (minimal distribution) matches nothing and costs nothing.
    return [f"{name}{sub}^{boost}" for name, boost in boosted for sub in ("", ".stemmed")] + [
        "attribute_values^1"
    ]


def _variants(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "nested": {"path": "variants", "query": {"range": {f"variants.{k}": v for k, v in condition.items()}}}
    }


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if query.category:
        filters.append({"term": {"category_slugs": query.category}})
    if query.min_price is not None or query.max_price is not None:
        bounds = {"gte": query.min_price, "lte": query.max_price}
        filters.append(_variants({"price": {k: float(v) for k, v in bounds.items() if v is not None}}))
    if query.in_stock:
        filters.append(_variants({"stock": {"gt": 0}}))
    for key, values in sorted(query.attributes.items()):
        if values:  # OR within a key, AND across keys
            filters.append({"terms": {"attribute_pairs": [f"{key}:{value}" for value in values]}})
    return filters


def _sort(query: SearchQuery) -> list[dict[str, Any]]:
    """The query's order, then ties by id in the same direction (by newest for `_score`)."""
    order = query.sort_order
    if query.sort_by == "price":
        lowest = {"order": order, "mode": "min", "nested": {"path": "variants"}, "missing": "_last"}
        return [{"variants.price": lowest}, {"id": {"order": order}}]
    if query.sort_by == "createdAt":
        return [{"created_at": {"order": order}}, {"id": {"order": order}}]
    if query.sort_by == "averageRating":  # a document indexed before ratings were: 0, as embedded
        rating = {"order": order, "missing": 0, "unmapped_type": "float"}
        return [{"average_rating": rating}, {"id": {"order": order}}]
    return [{"_score": {"order": order}}, {"created_at": {"order": "desc"}}, {"id": {"order": "desc"}}]


def _aggregations() -> dict[str, Any]:
    ranges = [
        {"key": price_range_key(low, high)}
        | ({"from": float(low)} if low is not None else {})
        | ({"to": float(high)} if high is not None else {})
        for low, high in PRICE_RANGES
    ]
    by_count = [{"_count": "desc"}, {"_key": "asc"}]
    return {
        "categories": {"terms": {"field": "category_slugs", "size": CATEGORY_FACETS, "order": by_count}},
        "attributes": {"terms": {"field": "attribute_pairs", "size": ATTRIBUTE_FACETS, "order": by_count}},
        "prices": {
            "nested": {"path": "variants"},
            "aggs": {
                "ranges": {
                    "range": {"field": "variants.price", "ranges": ranges, "keyed": True},
                    "aggs": {"products": {"reverse_nested": {}}},  # count products, not variants
                }
            },
        },
    }


def _text_query(text: str, language: str) -> dict[str, Any] | None:
    """Every word must match somewhere (a field each, best one counts); one typo in a word of 4+ letters."""
    fields = text_fields(language)
    clauses = [
        {
            "bool": {
                "should": [
                    {"multi_match": {"query": word, "fields": fields, "fuzziness": int(typos(word))}},
                    # A SKU matches as written: one edit away is another product's SKU.
                    {"match": {"sku.words": {"query": word, "boost": SKU_BOOST}}},
                ]
            }
        }
        for word in WORD.findall(fold(text))[:MAX_WORDS]
    ]
    return {"bool": {"must": clauses}} if clauses else None


def suggest_query(prefix: str, language: str) -> dict[str, Any] | None:
    """Names whose words start with the prefix's words (the last one a prefix): in `language`, or in
    English for a product with no name in `language`.
    """
    words = " ".join(WORD.findall(fold(prefix)))
    if not words:
        return None

    def starting(field: str) -> dict[str, Any]:
        return {"match_bool_prefix": {field: {"query": words, "operator": "and"}}}

    lang = language if language in LANGUAGES else "en"
    if lang == "en":
        return starting("name_en")
    unnamed = {"bool": {"must": [starting("name_en")], "must_not": [{"exists": {"field": f"name_{lang}"}}]}}
    return {"bool": {"should": [starting(f"name_{lang}"), unnamed]}}


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The body of `search`: the query, its filters, the page, the sort and the facets."""
    must = _text_query(query.text or "", query.language) or {"match_all": {}}
    start = (max(query.page, 1) - 1) * query.limit
    inside = start + query.limit <= MAX_WINDOW
    return {
        "query": {"bool": {"must": [must], "filter": _filters(query)}},
        "from": start if inside else 0,
        "size": query.limit if inside else 0,  # past the window: the totals and facets, no hits
        "sort": _sort(query),
        "track_total_hits": True,
        "_source": ["document"],
        "aggs": _aggregations(),
    }


def price_ranges() -> list[tuple[str, Decimal | None, Decimal | None]]:
    return [(price_range_key(low, high), low, high) for low, high in PRICE_RANGES]
