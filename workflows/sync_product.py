"""Product sync: every change to a product (its variants, images, categories, stock) signals this workflow
(signal-with-start, id `product-sync-{productId}`), which writes the product to the search index at once
(a new product is searchable within a second), waits for the burst to settle, then publishes it once and
indexes it again if it changed meanwhile. A batch variant announces and indexes many new products
at once (the demo catalog generator). Each step retries until its service answers, so a crash of the search
service, the worker or the engine loses nothing.

Open workflows must replay: a change to the commands issued goes behind `workflow.patched(...)` (the names
below).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import partial
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.catalog import CatalogActivities, PublishProductsInput, PublishProductsResult
    from activities.search import IndexProductsInput, SearchActivities
    from kit.outbox import WorkflowStart

WORKFLOW = "SyncProductWorkflow"
BATCH_WORKFLOW = "SyncProductBatchWorkflow"
TASK_QUEUE = "catalog"  # unless the settings name another (`catalog_task_queue`)
PRODUCT_CHANGED_SIGNAL = "product_changed"
PUBLISH_TIMEOUT = timedelta(seconds=60)
PUBLISH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
INDEX_TIMEOUT = timedelta(seconds=60)
INDEX_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
MAX_PUBLICATIONS_PER_RUN = 100

# Changes to the commands issued, each behind its patch so that open workflows replay as they ran.
INDEX_AFTER_PUBLISHING = "index-after-publishing"  # the search index follows every publication
INDEX_AT_ONCE = "index-first-change-at-once"  # and the first change of a burst, before it settles

Change = Literal["created", "updated", "deleted"]  # what the product_changed signal carries


def workflow_id(product_id: str) -> str:
    return f"product-sync-{product_id}"


class SyncProductInput(BaseModel):
    """`debounce_seconds` of quiet ends a burst; a burst never waits longer than `max_delay_seconds` (the
    products service's setting: how long a burst of edits may take is the shop's choice, not a timeout).
    """

    product_id: str
    debounce_seconds: float = 2.0
    max_delay_seconds: float = 30.0
    pending: list[str] = []  # changes carried over a continue-as-new


class SyncProductResult(BaseModel):
    publications: int


def start(
    product_id: str, change: Change, *, debounce_seconds: float, task_queue: str = TASK_QUEUE
) -> WorkflowStart:
    """Signal-with-start the product's sync workflow: it publishes once the burst of changes settles."""
    data = SyncProductInput(
        product_id=product_id,
        debounce_seconds=debounce_seconds,
        max_delay_seconds=max(30.0, 10 * debounce_seconds),
    )
    return WorkflowStart(
        workflow=WORKFLOW,
        id=workflow_id(product_id),
        task_queue=task_queue,
        args=[data.model_dump()],
        signal=PRODUCT_CHANGED_SIGNAL,
        signal_args=[change],
    )


@workflow.defn(name=WORKFLOW)
class SyncProductWorkflow:
    def __init__(self) -> None:
        self._changes: list[str] = []
        self._received = 0

    @workflow.signal(name=PRODUCT_CHANGED_SIGNAL)
    def product_changed(self, change: Change) -> None:
        """One committed change: `created`, `updated` or `deleted`."""
        self._changes.append(change)
        self._received += 1

    @workflow.run
    async def run(self, data: SyncProductInput) -> SyncProductResult:
        self._changes = [*data.pending, *self._changes]
        publications = 0
        while True:
            await workflow.wait_condition(lambda: bool(self._changes))
            indexed_after = -1  # the signals taken in when the index was last written
            if workflow.patched(INDEX_AT_ONCE):
                indexed_after = self._received
                await _index([data.product_id])
            await self._burst_settles(data)
            changes, self._changes = self._changes, []
            await self._publish(data.product_id, created="created" in changes)
            if workflow.patched(INDEX_AFTER_PUBLISHING) and self._received_since(indexed_after):
                await _index([data.product_id])  # the settled product, unless indexed as it is
            publications += 1
            if not self._changes:  # Temporal refuses to complete while a signal is unhandled
                return SyncProductResult(publications=publications)
            if publications >= MAX_PUBLICATIONS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(data.model_copy(update={"pending": self._changes}))

    async def _burst_settles(self, data: SyncProductInput) -> None:
        deadline = workflow.now() + timedelta(seconds=data.max_delay_seconds)
        while True:
            seen = self._received
            remaining = min(data.debounce_seconds, (deadline - workflow.now()).total_seconds())
            if remaining <= 0:
                return
            try:
                await workflow.wait_condition(partial(self._received_since, seen), timeout=remaining)
            except TimeoutError:
                return

    def _received_since(self, seen: int) -> bool:
        return self._received > seen

    async def _publish(self, product_id: str, *, created: bool) -> PublishProductsResult:
        return await workflow.execute_activity_method(
            CatalogActivities.publish_products,
            PublishProductsInput(
                product_ids=[product_id], publication_id=str(workflow.uuid4()), created=created
            ),
            start_to_close_timeout=PUBLISH_TIMEOUT,
            retry_policy=PUBLISH_RETRY,
        )


class SyncProductBatchInput(BaseModel):
    product_ids: list[str]
    chunk_size: int = 200


def start_batch(product_ids: list[str], *, task_queue: str = TASK_QUEUE) -> WorkflowStart:
    """One workflow announcing many new products (`PRODUCT_CREATED` each)."""
    return WorkflowStart(
        workflow=BATCH_WORKFLOW,
        id=f"product-batch-{uuid.uuid4()}",
        task_queue=task_queue,
        args=[SyncProductBatchInput(product_ids=product_ids).model_dump()],
    )


@workflow.defn(name=BATCH_WORKFLOW)
class SyncProductBatchWorkflow:
    """Announces products created together (`PRODUCT_CREATED` each), a chunk per activity."""

    @workflow.run
    async def run(self, data: SyncProductBatchInput) -> SyncProductResult:
        publications = 0
        for start in range(0, len(data.product_ids), data.chunk_size):
            await workflow.execute_activity_method(
                CatalogActivities.publish_products,
                PublishProductsInput(
                    product_ids=data.product_ids[start : start + data.chunk_size],
                    publication_id=str(workflow.uuid4()),
                    created=True,
                ),
                start_to_close_timeout=PUBLISH_TIMEOUT,
                retry_policy=PUBLISH_RETRY,
            )
            if workflow.patched(INDEX_AFTER_PUBLISHING):
                await _index(data.product_ids[start : start + data.chunk_size])
            publications += 1
        return SyncProductResult(publications=publications)


async def _index(product_ids: list[str]) -> None:
    """Write the products' current documents to the search index (deleted ones are removed)."""
    await workflow.execute_activity_method(
        SearchActivities.index_products,
        IndexProductsInput(product_ids=product_ids),
        start_to_close_timeout=INDEX_TIMEOUT,
        retry_policy=INDEX_RETRY,
    )
