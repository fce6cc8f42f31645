"""Payloads of the products API: camelCase on the wire, as the seed's clients expect.

Prices travel as strings with two decimals (`"1299.99"`, Prisma's Decimal, `kit.schemas.Money`), and are
accepted as JSON numbers or strings. `costPrice` is shown only to staff (callers holding `read:product` or
`update:product`).
Categories and stock payloads live beside it, in `categories.py` and `stock.py`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from contracts.currencies import BASE_CURRENCY, Amount, Rate, rate_text
from contracts.images import sized
from contracts.products import MAX_IMAGE_USES
from kit.schemas import Money, Pagination, Schema, Timestamp

__all__ = ["Money", "Pagination", "Schema", "Timestamp"]  # re-exported for the other schema modules


Sku = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$")]
ImageUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^(https?://|/)\S+$")
]
AttributeKey = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[^:,]+$")]


def _attribute_text(value: Any) -> Any:
    """Attribute values are labels: numbers and booleans are kept as their text (`12`, `true`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float | Decimal) else value


AttributeValue = Annotated[
    str, BeforeValidator(_attribute_text), StringConstraints(min_length=1, max_length=200)
]
Attributes = Annotated[dict[AttributeKey, AttributeValue], Field(max_length=20)]


class LocalisedName(Schema):
    """A multilingual name; English is required, French and Arabic are optional."""

    model_config = ConfigDict(extra="forbid")

    en: str = Field(min_length=1, max_length=300)
    fr: str | None = Field(default=None, min_length=1, max_length=300)
    ar: str | None = Field(default=None, min_length=1, max_length=300)


class LocalisedDescription(Schema):
    model_config = ConfigDict(extra="forbid")

    en: str = Field(min_length=1, max_length=10_000)
    fr: str | None = Field(default=None, max_length=10_000)
    ar: str | None = Field(default=None, max_length=10_000)


def texts(value: LocalisedName | LocalisedDescription | None) -> dict[str, str] | None:
    """What is stored of a multilingual text: the languages given."""
    return None if value is None else value.model_dump(exclude_none=True)


class ImageCreate(Schema):
    image_url: ImageUrl
    alt_text: str | None = Field(default=None, max_length=500)
    is_primary: bool = False
    order: int | None = Field(default=None, ge=0, le=10_000)


def _one_primary(images: list[ImageCreate]) -> list[ImageCreate]:
    if sum(image.is_primary for image in images) > 1:
        raise ValueError("at most one image can be primary")
    return images


ImageList = Annotated[list[ImageCreate], Field(max_length=50), AfterValidator(_one_primary)]


class VariantCreate(Schema):
    attributes: Attributes
    price: Money
    cost_price: Money | None = None
    low_stock_threshold: int | None = Field(default=None, ge=0, le=1_000_000_000)
    initial_stock_quantity: int = Field(default=0, ge=0, le=1_000_000_000_000)


class VariantUpdate(Schema):
    """Stock is not editable here: it changes only through `POST /stock/adjust/{variantId}`."""

    attributes: Attributes | None = None
    price: Money | None = None
    cost_price: Money | None = None
    low_stock_threshold: int | None = Field(default=None, ge=0, le=1_000_000_000)

    @model_validator(mode="after")
    def _something(self) -> VariantUpdate:
        if not self.model_fields_set:
            raise ValueError("No valid fields provided for update.")
        if self.price is None and "price" in self.model_fields_set:
            raise ValueError("price cannot be null")
        if self.attributes is None and "attributes" in self.model_fields_set:
            raise ValueError("attributes cannot be null")
        return self


CategoryIds = Annotated[list[uuid.UUID], Field(max_length=20)]


class ProductCreate(Schema):
    sku: Sku
    name: LocalisedName
    description: LocalisedDescription | None = None
    is_active: bool = True
    variants: Annotated[list[VariantCreate], Field(max_length=100)] = Field(default_factory=list)
    category_ids: CategoryIds = Field(default_factory=list)
    images: ImageList = Field(default_factory=list)

    @field_validator("category_ids")
    @classmethod
    def _distinct(cls, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        return list(dict.fromkeys(ids))


class ProductUpdate(Schema):
    sku: Sku | None = None
    name: LocalisedName | None = None
    description: LocalisedDescription | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> ProductUpdate:
        if not self.model_fields_set:
            raise ValueError("No valid fields provided for update.")
        for required in ("sku", "name", "is_active"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{to_camel(required)} cannot be null")
        return self


class CategoryIdsBody(Schema):
    category_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=20)]


class ImageIdsBody(Schema):
    image_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)]


class ImageUsesRequest(Schema):
    names: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=MAX_IMAGE_USES)]


class ImageRead(Schema):
    id: str
    product_id: str
    image_url: str
    image_name: str | None = Field(default=None, exclude=True)
    alt_text: str | None
    is_primary: bool
    order: int | None = Field(validation_alias="position", serialization_alias="order")
    created_at: Timestamp

    @computed_field  # type: ignore[prop-decorator]
    @property
    def thumbnail_url(self) -> str | None:
        """The images service's thumbnail of an image of ours; None for another site's image."""
        return sized(self.image_url, "thumb") if self.image_name else None


class VariantRead(Schema):
    """`price` (and `costPrice`) in the currency asked for with `X-Currency`; `basePrice` in the base."""

    id: str
    product_id: str
    attributes: dict[str, Any]
    price: Amount
    base_price: Money | None = Field(default=None, exclude_if=lambda value: value is None)
    cost_price: Amount | None = Field(default=None, exclude_if=lambda value: value is None)
    stock_quantity: int
    low_stock_threshold: int | None
    created_at: Timestamp
    updated_at: Timestamp


class CategoryRow(Schema):
    """A category as stored: multilingual name."""

    id: str
    name: dict[str, str]
    slug: str
    parent_id: str | None
    image_url: str | None
    created_at: Timestamp
    updated_at: Timestamp


class CategoryLabel(Schema):
    """A category of a product, its name in the caller's language."""

    id: str
    name: str
    slug: str
    parent_id: str | None
    image_url: str | None
    created_at: Timestamp
    updated_at: Timestamp


class ProductCategoryLink(Schema):
    """The seed's join row: `{productId, categoryId, category}`."""

    product_id: str
    category_id: str
    category: CategoryRow


class _ProductFields(Schema):
    id: str
    sku: str
    is_active: bool
    average_rating: float
    review_count: int
    created_at: Timestamp
    updated_at: Timestamp
    variants: list[VariantRead]
    images: list[ImageRead]


class ProductRead(_ProductFields):
    """A product with its multilingual texts (`GET /id/{id}`, `GET /sku/{sku}`, writes)."""

    name: dict[str, str]
    description: dict[str, str] | None
    categories: list[ProductCategoryLink]
    display_currency: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The currency of the variants' `price` (`GET /sku/{sku}`, which has no `meta`)",
    )


class ProductView(_ProductFields):
    """A product in the caller's language (`GET /`)."""

    name: str
    description: str | None
    categories: list[CategoryLabel]


class Meta(Schema):
    """The currency prices are shown in (`currency`, the seed's name, and `displayCurrency`), the base they
    are stored in and the rate between them."""

    currency: str = BASE_CURRENCY
    display_currency: str = BASE_CURRENCY
    base_currency: str = BASE_CURRENCY
    rate: Annotated[Decimal, PlainSerializer(rate_text, return_type=str, when_used="json")] = Decimal(1)

    @classmethod
    def of(cls, rate: Rate) -> Meta:
        return cls(currency=rate.code, display_currency=rate.code, rate=rate.rate_vs_base)


class ProductPage(Schema):
    data: list[ProductView]
    meta: Meta = Meta()
    pagination: Pagination
    next_cursor: str | None = Field(
        default=None,
        description="`cursor` of the next page (none after the last): deep pages at the cost of one",
    )


class ProductEnvelope(Schema):
    data: ProductRead
    meta: Meta = Meta()


class Message(Schema):
    message: str


class CreatedProduct(Schema):
    id: str
    sku: str


class BulkCreated(Message):
    created_products: list[CreatedProduct]


SortField = Literal["createdAt", "updatedAt", "sku", "name", "price", "averageRating", "reviewCount"]


class ProductQuery(Schema):
    """`GET /` query parameters; every one is validated (400 naming it), `sortBy` against a whitelist."""

    page: int = Field(default=1, ge=1, le=100_000)
    limit: int = Field(default=10, ge=1, le=100)
    cursor: str | None = Field(
        default=None,
        max_length=1000,
        description="`nextCursor` of the page before, instead of `page`: the next page, read from where that "
        "one ended (same `sortBy` and `sortOrder`), as fast at page 5000 as at page 2.",
    )
    category_slug: str | None = Field(default=None, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=120)
    sort_by: SortField = "createdAt"
    sort_order: Literal["asc", "desc"] = "desc"
    is_active: bool | None = None
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A substring of the name (in the caller's language or English) or of the SKU, matched "
        "as typed. To search text, use `GET /search/products`: typo-tolerant, ranked and faceted.",
    )
    min_price: Money | None = None
    max_price: Money | None = None
    in_stock: bool | None = None
    # no control character: a NUL cuts SQLite's JSON path short (an error, a 500, fuzzing found)
    attributes: list[
        Annotated[str, StringConstraints(pattern=r"^[^:,\x00-\x1f\x7f]{1,50}:[^\x00-\x1f\x7f]{1,200}$")]
    ] = Field(
        default=[],
        max_length=10,
        description="`Key:Value` pairs (repeat the parameter, or separate pairs with commas): "
        "some variant must carry every one.",
    )

    @field_validator("attributes", mode="before")
    @classmethod
    def _split_pairs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [pair for item in value for pair in str(item).split(",") if pair]
        return value

    @field_validator("max_price")
    @classmethod
    def _not_below_min(cls, value: Decimal | None, info: Any) -> Decimal | None:
        low = info.data.get("min_price")
        if value is not None and low is not None and value < low:
            raise ValueError("must not be lower than minPrice")
        return value

    def attribute_pairs(self) -> list[tuple[str, str]]:
        return [(key.strip(), value.strip()) for key, _, value in (p.partition(":") for p in self.attributes)]
