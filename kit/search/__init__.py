"""The search-index port: products indexed for text search with filters and facets (Elasticsearch in
production, SQLite FTS5 embedded), chosen by `COMMERCE_SEARCH_URL`.

The search service owns the index and is its only writer. It indexes active products only (an inactive or
deleted product is deleted from the index), one `SearchDocument` per product, and hands back the stored
`document` (the products service's event document) as each hit. Both adapters answer the same queries with
the same results; `tests/kit/test_search_contract.py` holds them to it.

Rules every adapter keeps:
- `ensure()` creates what is missing and never deletes: a restart keeps the index.
- `upsert` and `delete` are idempotent; a document replaces the product's previous one.
- `rebuild` fills a new generation and then swaps it in at once: searches answer from the old one until
  the swap, never from an empty or half-built one, and writes made during a rebuild reach the new one too.
- Text matches are typo-tolerant (one edit in a word of 4+ letters) over the fields of `query.language`
  and of English, boosted: name > category names > SKU > description > attribute values. Every word of
  the text must match (the seed's `operator: "and"`); case and diacritics do not matter.
- A product matches `min_price`/`max_price` when one of its variants' prices lies within (inclusive),
  `in_stock` when one of its variants has stock; `attributes` is OR within a key, AND across keys;
  `category` matches a product whose `category_slugs` holds it (the search service puts the parents'
  slugs there too).
- Facets count over the whole filtered set (not just the page): categories (slug), attributes (key ->
  value), and price ranges (`PRICE_RANGES`, a product counted in each range one of its variants falls in;
  only ranges with a count).
- An engine that cannot be reached raises `SearchUnavailable` (503), from every method.
- Sorting: `_score` (best first; ties by newest), `price` (the product's lowest variant price),
  `createdAt`, `averageRating` (the reviews' average, 0 without reviews); ties broken by id so that pages
  never overlap.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Protocol, Self
from urllib.parse import urlsplit

from kit.errors import Unavailable

SortField = Literal["_score", "price", "createdAt", "averageRating"]
SortOrder = Literal["asc", "desc"]

# The seed's price buckets: (from, to), from inclusive, to exclusive; None is open.
PRICE_RANGES: tuple[tuple[Decimal | None, Decimal | None], ...] = (
    (None, Decimal(50)),
    (Decimal(50), Decimal(100)),
    (Decimal(100), Decimal(200)),
    (Decimal(200), Decimal(500)),
    (Decimal(500), None),
)


def price_range_key(low: Decimal | None, high: Decimal | None) -> str:
    """Elasticsearch's range-bucket key, which the seed's clients show: `*-50.0`, `50.0-100.0`, `500.0-*`."""
    return f"{'*' if low is None else f'{low:.1f}'}-{'*' if high is None else f'{high:.1f}'}"


@dataclass(frozen=True)
class IndexedVariant:
    id: str
    price: Decimal
    stock_quantity: int
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchDocument:
    """What a product is found by; `document` is what a hit answers with."""

    id: str
    sku: str
    name: Mapping[str, str]  # language -> text
    description: Mapping[str, str]
    category_names: Sequence[Mapping[str, str]]
    category_slugs: Sequence[str]  # its categories and their parents
    variants: Sequence[IndexedVariant]
    created_at: datetime
    updated_at: datetime
    document: Mapping[str, Any]
    average_rating: float = 0.0  # the reviews' average (the products service's `averageRating`)


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    language: str = "en"
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    page: int = 1
    limit: int = 24
    sort_by: SortField = "_score"
    sort_order: SortOrder = "desc"


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True)
class PriceRangeCount:
    key: str
    low: Decimal | None
    high: Decimal | None
    count: int


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: Sequence[Mapping[str, Any]]  # the stored documents, in order
    categories: Sequence[FacetCount]  # by count, then slug
    attributes: Mapping[str, Sequence[FacetCount]]  # key -> values by count, then value
    price_ranges: Sequence[PriceRangeCount]  # in PRICE_RANGES order, count > 0 only


class SearchUnavailable(Unavailable):
    """The engine cannot be reached: a 503 its callers may retry, not a 500."""

    default_code = "SearchUnavailable"


class SearchIndex(Protocol):
    async def ensure(self) -> None:
        """Create the index if it is missing (never delete one)."""

    async def ping(self) -> None:
        """Raise if the engine cannot answer (readiness)."""

    async def upsert(self, documents: Sequence[SearchDocument]) -> None: ...

    async def delete(self, product_ids: Sequence[str]) -> None:
        """Ids not in the index are fine."""

    async def search(self, query: SearchQuery) -> SearchPage: ...

    async def suggest(self, prefix: str, *, language: str, limit: int = 10) -> list[str]:
        """Product names (in `language`, else English) that a word of which starts with `prefix`."""

    async def stamps(self) -> dict[str, datetime]:
        """`updated_at` of every indexed product, by id: what a reconcile compares with the catalog."""

    async def rebuild(self, batches: AsyncIterable[Sequence[SearchDocument]]) -> int:
        """Index every batch into a new generation, then swap it in; returns the documents indexed."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def open_search(url: str) -> SearchIndex:
    """The adapter `COMMERCE_SEARCH_URL` names: `async with open_search(settings.search_url) as index`;
    `sqlite:///path/search.db` (embedded: SQLite FTS5, one file) or `http(s)://host:9200/alias`.
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from kit.search.sqlite import SqliteSearch  # each adapter loads only with its URL

        return SqliteSearch(url)
    if scheme in ("http", "https"):
        from kit.search.elastic import ElasticSearch  # the client stays unimported by the embedded run

        return ElasticSearch(url)
    raise ValueError(f"unsupported SEARCH_URL scheme {scheme!r}")
