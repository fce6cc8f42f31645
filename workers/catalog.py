"""The catalog worker (`commerce worker catalog`): product sync workflows and the publishing activity."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.catalog import CatalogActivities
from contracts import products
from kit.auth.services import service_tokens
from kit.infra import Infra
from workflows import sync_product


def build_worker(client: Client, infra: Infra) -> Worker:
    """Reads products with service credentials; polls `sync_product.TASK_QUEUE` unless the settings say
    otherwise.
    """
    http = infra.client(products.SERVICE, token=service_tokens(infra, "catalog"))
    activities = CatalogActivities(products.ProductsClient(http), infra.bus)
    return Worker(
        client,
        task_queue=infra.settings.catalog_task_queue or sync_product.TASK_QUEUE,
        workflows=[sync_product.SyncProductWorkflow, sync_product.SyncProductBatchWorkflow],
        activities=[activities.publish_products],
    )
