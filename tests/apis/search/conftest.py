"""The search service under test: its app on the embedded engine in `tmp_path`, and a small catalog put in
the index through the port directly, as the indexing workflow would leave it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apis.search.app import create_app
from kit.search import IndexedVariant, SearchDocument, SearchIndex, open_search
from kit.settings import Settings
from tests.support import asgi_client, scratch_elastic_index

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
Texts = Mapping[str, str]


def product(
    number: int,
    name: Texts,
    categories: Sequence[tuple[str, Texts]],
    variants: Sequence[tuple[str, int, Mapping[str, str]]],
    *,
    description: Texts | None = None,
) -> SearchDocument:
    """Product `p<number>`, created on day `number`, with its event document as the products service
    publishes it; `categories` are (slug, name), a parent after its child; `variants` are
    (price, stock, attributes).
    """
    product_id, sku, created = f"p{number}", f"SKU-{number}", EPOCH + timedelta(days=number)
    indexed = [
        IndexedVariant(f"{product_id}-v{i}", Decimal(price), stock, attributes)
        for i, (price, stock, attributes) in enumerate(variants)
    ]
    document: dict[str, Any] = {
        "id": product_id,
        "sku": sku,
        "name": dict(name),
        "description": dict(description) if description else None,
        "isActive": True,
        "createdAt": created.isoformat().replace("+00:00", "Z"),
        "updatedAt": created.isoformat().replace("+00:00", "Z"),
        "averageRating": 0.0,
        "reviewCount": 0,
        "primaryImageUrl": None,
        "category_names": [dict(names) for _, names in categories[:1]],
        "category_slugs": [slug for slug, _ in categories[:1]],
        "variants": [
            {
                "id": v.id,
                "attributes": dict(v.attributes),
                "price": f"{v.price:.2f}",
                "stockQuantity": v.stock_quantity,
            }
            for v in indexed
        ],
        "images": [],
    }
    return SearchDocument(
        id=product_id,
        sku=sku,
        name=name,
        description=description or {},
        category_names=[names for _, names in categories],
        category_slugs=[slug for slug, _ in categories],
        variants=indexed,
        created_at=created,
        updated_at=created,
        document=document,
    )


LAMPS = ("lamps", {"en": "Lamps", "fr": "Lampes"})
LIGHTING = ("lighting", {"en": "Lighting", "fr": "Éclairage"})
SOFAS = ("sofas", {"en": "Sofas", "fr": "Canapés"})
TABLES = ("tables", {"en": "Tables", "fr": "Tables"})
FURNITURE = ("furniture", {"en": "Furniture", "fr": "Mobilier"})
KITCHEN = ("kitchen", {"en": "Kitchen"})

CATALOG = [
    product(
        1,
        {"en": "Desk Lamp", "fr": "Lampe de bureau"},
        [LAMPS, LIGHTING],
        [("19.99", 5, {"Color": "Black"}), ("24.99", 0, {"Color": "White"})],
        description={"en": "A lamp for reading.", "fr": "Une lampe pour lire."},
    ),
    product(
        2, {"en": "Floor Lamp", "fr": "Lampadaire"}, [LAMPS, LIGHTING], [("149.00", 0, {"Color": "Black"})]
    ),
    product(
        3,
        {"en": "Leather Sofa", "fr": "Canapé en cuir"},
        [SOFAS, FURNITURE],
        [("899.00", 2, {"Color": "Brown", "Size": "L"})],
    ),
    product(
        4,
        {"en": "Oak Table", "fr": "Table en chêne"},
        [TABLES, FURNITURE],
        [("450.00", 1, {"Color": "Natural", "Size": "M"})],
    ),
    product(
        5, {"en": "Red Mug"}, [KITCHEN], [("8.50", 100, {"Color": "Red"}), ("8.50", 0, {"Color": "Blue"})]
    ),
]


@pytest.fixture(params=["sqlite", pytest.param("elastic", marks=pytest.mark.integration)])
async def search_settings(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Settings]:
    """The embedded engine (a file in `tmp_path`), and a scratch index (alias) on the run's Elasticsearch."""
    if request.param == "sqlite":
        yield settings
        return
    async with scratch_elastic_index() as url:
        yield settings.model_copy(update={"search_url": url})


@pytest.fixture
async def index(search_settings: Settings) -> AsyncIterator[SearchIndex]:
    """The service's index (`COMMERCE_SEARCH_URL`), holding `CATALOG`."""
    async with open_search(search_settings.search_url) as index:
        await index.ensure()
        await index.upsert(CATALOG)
        yield index


@pytest.fixture
async def client(search_settings: Settings, index: SearchIndex) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(search_settings)) as client:
        yield client


async def found(client: httpx.AsyncClient, query: str = "", *, language: str = "en") -> list[str]:
    """The ids `GET /products?<query>` answers, in order."""
    response = await client.get(f"/products?{query}", headers={"Accept-Language": language})
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["data"]]
