"""The catalog worker (`commerce worker catalog`): product sync workflows and the publishing activity."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.catalog import CatalogActivities
from kit.auth.services import service_tokens
from kit.infra import Infra
from workflows.sync_product import SyncProductBatchWorkflow, SyncProductWorkflow


def build_worker(client: Client, infra: Infra) -> Worker:
    """Queue `settings.catalog_task_queue` ("catalog"); reads products with service credentials."""
    settings = infra.settings
    products = infra.client("products", token=service_tokens(infra, "catalog"))
    activities = CatalogActivities(products, infra.bus)
    return Worker(
        client,
        task_queue=settings.catalog_task_queue,
        workflows=[SyncProductWorkflow, SyncProductBatchWorkflow],
        activities=[activities.publish_products],
    )
