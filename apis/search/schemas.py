"""Query parameters and answers of the search API, the seed's names on the wire (camelCase parameters,
`price_ranges` as the seed's clients read it).

`attributes[Key]=Value` cannot be a field of a query model (its names are the client's), so
`dependencies.attribute_filters` reads it from the raw query string, bounded by the constants here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from contracts.currencies import BASE_CURRENCY, rate_text
from kit.schemas import Limit, Money, Page, Pagination, Schema
from kit.search import SortField, SortOrder

MAX_TEXT = 200  # characters of `q`, after trimming
MAX_ATTRIBUTE_KEYS = 10
MAX_ATTRIBUTE_VALUES = 20  # per key
MAX_ATTRIBUTE_KEY = 50  # characters, as the products service allows in a variant's attributes
MAX_ATTRIBUTE_VALUE = 200


def _trimmed(value: Any) -> Any:
    """Surrounding blanks are not part of a search; a blank one is no search at all."""
    if isinstance(value, str):
        return value.strip() or None
    return value


Price = Money | None


class ProductSearch(Schema):
    """`GET /products` parameters (the seed's, section 5.3); each is checked, a bad one is a 400 naming it."""

    q: Annotated[str | None, BeforeValidator(_trimmed)] = Field(
        default=None,
        max_length=MAX_TEXT,
        description="Words to find in names, category names, SKUs, descriptions and attribute values, "
        "with one typo per word of 4+ letters forgiven; blank finds everything.",
    )
    category: Annotated[str | None, BeforeValidator(_trimmed)] = Field(
        default=None,
        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        max_length=120,
        description="A category's slug: its products and its children's.",
    )
    min_price: Price = Field(default=None, description="Some variant costs at least this much.")
    max_price: Price = Field(default=None, description="Some variant costs at most this much.")
    in_stock: Literal["true", "false"] | None = Field(
        default=None, description="`true`: some variant is in stock; `false` (or none): any product."
    )
    page: Page = 1
    limit: Limit = 24
    sort_by: SortField = "_score"
    sort_order: SortOrder = "desc"

    @field_validator("max_price")
    @classmethod
    def _not_below_min(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("min_price")
        if value is not None and low is not None and value < low:
            raise ValueError("must not be lower than minPrice")
        return value


class Suggest(Schema):
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="The start of a word of a product's name."
    )
    limit: int = Field(default=10, ge=1, le=50)


class CategoryFacet(Schema):
    slug: str
    count: int


class AttributeOption(Schema):
    value: str
    count: int


class AttributeFacet(Schema):
    name: str
    options: list[AttributeOption]


class PriceRangeFacet(Schema):
    """Elasticsearch's range bucket, as the seed answered it: `from` and `to` are numbers, none when open."""

    key: str
    from_: float | None = Field(alias="from")
    to: float | None
    count: int


class Facets(Schema):
    categories: list[CategoryFacet]
    attributes: list[AttributeFacet]
    price_ranges: list[PriceRangeFacet] = Field(alias="price_ranges")


class SearchMeta(Schema):
    """The currency the hits' prices are in (`currency`, as the products listing names it, and
    `displayCurrency`), the base currency the facets' price ranges are in, and the rate between them."""

    currency: str = BASE_CURRENCY
    display_currency: str = BASE_CURRENCY
    base_currency: str = BASE_CURRENCY
    rate: Annotated[Decimal, PlainSerializer(rate_text, return_type=str, when_used="json")] = Decimal(1)


class SearchResults(Schema):
    """The hits (each product's stored document, its texts in the caller's language, its prices in the
    currency asked for), the page and the facets of every product that matched."""

    data: list[dict[str, Any]]
    meta: SearchMeta = SearchMeta()
    pagination: Pagination
    facets: Facets


class Suggestions(Schema):
    suggestions: list[str]


# The internal writes (`routes/internal.py`) and the reindex and reconcile reports.


class IndexRequest(Schema):
    documents: Annotated[list[dict[str, Any]], Field(max_length=1000)]


class DeleteRequest(Schema):
    product_ids: Annotated[list[str], Field(max_length=1000)]


class Written(Schema):
    indexed: int
    deleted: int


class ReindexState(Schema):
    """A reindex: `running`, `finished` (with the products indexed) or `failed` (with the error)."""

    status: str
    started_at: datetime
    finished_at: datetime | None = None
    indexed: int | None = None
    error: str | None = None


class Reconciled(Schema):
    missing: int
    stale: int
    deleted: int
