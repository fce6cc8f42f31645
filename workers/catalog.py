"""The catalog worker (`commerce worker catalog`): product sync workflows, the publishing and indexing
activities, and the scheduled search reconcile.
"""

from __future__ import annotations

import logging

from temporalio.client import Client, ScheduleAlreadyRunningError
from temporalio.worker import Worker

from activities.catalog import CatalogActivities
from activities.search import SearchActivities
from contracts import products, search
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.temporal import WORKFLOW_RUNNER
from workflows import reconcile_search, sync_product

log = logging.getLogger(__name__)


def build_worker(client: Client, infra: Infra) -> Worker:
    """Reads products and writes the search index with service credentials; polls `sync_product.TASK_QUEUE`
    unless the settings say otherwise.
    """
    tokens = service_tokens(infra, "catalog")
    catalog = products.ProductsClient(infra.client(products.SERVICE, token=tokens))
    indexing = SearchActivities(catalog, search.SearchClient(infra.client(search.SERVICE, token=tokens)))
    return Worker(
        client,
        workflow_runner=WORKFLOW_RUNNER,
        task_queue=_task_queue(infra),
        workflows=[
            sync_product.SyncProductWorkflow,
            sync_product.SyncProductBatchWorkflow,
            reconcile_search.ReconcileSearchWorkflow,
        ],
        activities=[
            CatalogActivities(catalog, infra.bus).publish_products,
            indexing.index_products,
            indexing.reconcile_search,
        ],
    )


async def prepare(client: Client, infra: Infra) -> None:
    """Create the search reconcile's schedule unless it exists (every worker start tries; one wins)."""
    queue = _task_queue(infra)
    try:
        await client.create_schedule(reconcile_search.schedule_id(queue), reconcile_search.schedule(queue))
    except ScheduleAlreadyRunningError:
        return
    log.info("search reconcile scheduled", extra={"every": str(reconcile_search.EVERY)})


def _task_queue(infra: Infra) -> str:
    return infra.settings.catalog_task_queue or sync_product.TASK_QUEUE
