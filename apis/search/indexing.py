"""Writing the index: the products service's event documents (`apis/products/reads.py` `product_document`)
turned into `SearchDocument`s; only active products are indexed, an inactive one is deleted. Every write is
idempotent (a document replaces the product's previous one), so a retried activity changes nothing more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts.products import MAX_DOCUMENTS, ProductsClient
from contracts.search import Drift
from kit.errors import BadRequest
from kit.search import IndexedVariant, SearchDocument, SearchIndex

STAMP_PRECISION = timedelta(milliseconds=1)  # what every engine keeps of a date


@dataclass(frozen=True)
class Written:
    indexed: int
    deleted: int


def search_document(document: Mapping[str, Any]) -> SearchDocument:
    """What the product is found by; its categories' slugs include their parents', so that a parent
    category finds its children's products.
    """
    slugs = [*document.get("category_slugs", []), *document.get("category_parent_slugs", [])]
    return SearchDocument(
        id=str(document["id"]),
        sku=str(document["sku"]),
        name=_texts(document.get("name")),
        description=_texts(document.get("description")),
        category_names=[_texts(names) for names in document.get("category_names", [])],
        category_slugs=list(dict.fromkeys(slugs)),
        variants=[_variant(v) for v in document.get("variants", [])],
        created_at=datetime.fromisoformat(document["createdAt"]),
        updated_at=datetime.fromisoformat(document.get("revisedAt") or document["updatedAt"]),
        document=document,
        average_rating=float(document.get("averageRating") or 0),
    )


async def index_documents(index: SearchIndex, documents: Sequence[Mapping[str, Any]]) -> Written:
    """Index the active products among `documents`, delete the inactive ones."""
    try:
        active = [search_document(d) for d in documents if d.get("isActive", True)]
        inactive = [str(d["id"]) for d in documents if not d.get("isActive", True)]
    except (KeyError, TypeError, ValueError, ArithmeticError) as malformed:
        raise BadRequest(f"Malformed product document: {malformed!r}", code="InvalidDocument") from malformed
    if active:
        await index.upsert(active)
    if inactive:
        await index.delete(inactive)
    return Written(indexed=len(active), deleted=len(inactive))


async def reindex(index: SearchIndex, catalog: ProductsClient, *, batch: int = MAX_DOCUMENTS) -> int:
    """Rebuild the index from the whole catalog and swap it in at once (searches keep answering from the
    old one meanwhile); returns the products indexed.
    """
    return await index.rebuild(catalog_batches(catalog, batch=batch))


async def catalog_batches(catalog: ProductsClient, *, batch: int) -> AsyncIterator[list[SearchDocument]]:
    """Every active product of the catalog, `batch` ids at a time, in id order."""
    after: str | None = None
    while True:
        page = await catalog.stamps(after=after, limit=batch)
        active = [p.id for p in page if p.is_active]
        if active:
            documents = await catalog.documents(active)
            yield [search_document(d) for d in documents.values() if d.get("isActive", True)]
        if len(page) < batch:
            return
        after = page[-1].id


async def reconcile(index: SearchIndex, catalog: ProductsClient, *, batch: int = MAX_DOCUMENTS) -> Drift:
    """Compare the index's stamps with the catalog's update times and repair the drift (a write lost before
    the indexing workflow existed, an index restored from a backup). A write racing the reconcile is safe:
    both index the product's current document.
    """
    indexed = await index.stamps()
    missing = stale = 0
    after: str | None = None
    while True:
        page = await catalog.stamps(after=after, limit=batch)
        behind = [p for p in page if p.is_active and _behind(indexed.get(p.id), p.revised_at)]
        missing += sum(1 for p in behind if p.id not in indexed)
        stale += sum(1 for p in behind if p.id in indexed)
        if behind:
            documents = await catalog.documents([p.id for p in behind])
            await index_documents(index, list(documents.values()))
        for stamp in page:
            if stamp.is_active and stamp.id in indexed:
                del indexed[stamp.id]  # what is left is not in the catalog, or not on sale
        if len(page) < batch:
            break
        after = page[-1].id
    if indexed:
        await index.delete(list(indexed))
    return Drift(missing=missing, stale=stale, deleted=len(indexed))


def _behind(indexed: datetime | None, updated: datetime) -> bool:
    return indexed is None or updated - indexed >= STAMP_PRECISION


def _texts(value: Any) -> dict[str, str]:
    """A multilingual text `{"en": ...}`; missing or empty languages are left out."""
    if not isinstance(value, Mapping):
        return {}
    return {str(language): str(text) for language, text in value.items() if text}


def _variant(variant: Mapping[str, Any]) -> IndexedVariant:
    attributes = variant.get("attributes") or {}
    return IndexedVariant(
        id=str(variant["id"]),
        price=Decimal(str(variant["price"])),
        stock_quantity=int(variant.get("stockQuantity", 0)),
        attributes={str(key): str(value) for key, value in attributes.items()},
    )
