"""Catalog activities: read products from the products service and announce them on `product_events`."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from temporalio import activity

from contracts import products
from contracts.products import PRODUCT_CREATED, PRODUCT_DELETED, PRODUCT_UPDATED, ProductsClient
from kit.bus import Event, EventBus


class PublishProductsInput(BaseModel):
    """Products to announce. `publication_id` (chosen by the workflow) fixes every event's id, so a retried
    activity publishes the same events again rather than new ones, and consumers drop the repeats.
    """

    product_ids: list[str]
    publication_id: str
    created: bool = False


class PublishProductsResult(BaseModel):
    published: dict[str, int]


def event_id(publication_id: str, product_id: str) -> str:
    """The id of one product's event in one publication: the same on every retry."""
    return str(uuid.uuid5(uuid.UUID(publication_id), product_id))


class CatalogActivities:
    """Built with a client of the products service (service credentials) and the event bus."""

    def __init__(self, client: ProductsClient, bus: EventBus) -> None:
        self._products = client
        self._bus = bus

    @activity.defn(name="publish_products")
    async def publish_products(self, data: PublishProductsInput) -> PublishProductsResult:
        """Load each product's current document and publish it: `PRODUCT_CREATED` or `PRODUCT_UPDATED` with
        the whole document (the seed's payload), `PRODUCT_DELETED {id}` when the product no longer exists.
        """
        documents = await self._products.documents(data.product_ids)
        counts = {PRODUCT_CREATED: 0, PRODUCT_UPDATED: 0, PRODUCT_DELETED: 0}
        for product_id in data.product_ids:
            document = documents.get(product_id)
            if document is None:
                kind, payload = PRODUCT_DELETED, {"id": product_id}
            else:
                kind, payload = (PRODUCT_CREATED if data.created else PRODUCT_UPDATED), document
            await self._bus.publish(
                Event(
                    id=event_id(data.publication_id, product_id),
                    type=kind,
                    payload=payload,
                    source_service=products.SERVICE,
                    topic=products.PRODUCT_EVENTS,
                    key=product_id,
                )
            )
            counts[kind] += 1
        return PublishProductsResult(published=counts)
