"""The catalog worker (`commerce worker catalog`): product sync workflows, the publishing activity and the
indexing activity.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.catalog import CatalogActivities
from activities.search import SearchActivities
from contracts import products, search
from kit.auth.services import service_tokens
from kit.infra import Infra
from workflows import sync_product


def build_worker(client: Client, infra: Infra) -> Worker:
    """Reads products and writes the search index with service credentials; polls `sync_product.TASK_QUEUE`
    unless the settings say otherwise.
    """
    tokens = service_tokens(infra, "catalog")
    catalog = products.ProductsClient(infra.client(products.SERVICE, token=tokens))
    index = search.SearchClient(infra.client(search.SERVICE, token=tokens))
    return Worker(
        client,
        task_queue=infra.settings.catalog_task_queue or sync_product.TASK_QUEUE,
        workflows=[sync_product.SyncProductWorkflow, sync_product.SyncProductBatchWorkflow],
        activities=[
            CatalogActivities(catalog, infra.bus).publish_products,
            SearchActivities(catalog, index).index_products,
        ],
    )
