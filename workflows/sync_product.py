"""Product sync: every change to a product (its variants, images, categories, stock) signals this workflow
(signal-with-start, id `product-sync-{productId}`), which waits for the burst to settle and then publishes
the product once. A batch variant announces many new products at once (the demo catalog generator).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.catalog import CatalogActivities, PublishProductsInput, PublishProductsResult

SYNC_PRODUCT_WORKFLOW = "SyncProductWorkflow"
SYNC_PRODUCT_BATCH_WORKFLOW = "SyncProductBatchWorkflow"
PRODUCT_CHANGED_SIGNAL = "product_changed"
PUBLISH_TIMEOUT = timedelta(seconds=60)
PUBLISH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
MAX_PUBLICATIONS_PER_RUN = 100


def sync_workflow_id(product_id: str) -> str:
    return f"product-sync-{product_id}"


class SyncProductInput(BaseModel):
    """`debounce_seconds` of quiet ends a burst; a burst never waits longer than `max_delay_seconds`."""

    product_id: str
    debounce_seconds: float = 2.0
    max_delay_seconds: float = 30.0
    pending: list[str] = []  # changes carried over a continue-as-new


class SyncProductResult(BaseModel):
    publications: int


@workflow.defn(name=SYNC_PRODUCT_WORKFLOW)
class SyncProductWorkflow:
    def __init__(self) -> None:
        self._changes: list[str] = []
        self._received = 0

    @workflow.signal(name=PRODUCT_CHANGED_SIGNAL)
    def product_changed(self, change: str) -> None:
        """One committed change: `created`, `updated` or `deleted`."""
        self._changes.append(change)
        self._received += 1

    @workflow.run
    async def run(self, data: SyncProductInput) -> SyncProductResult:
        self._changes = [*data.pending, *self._changes]
        publications = 0
        while True:
            await workflow.wait_condition(lambda: bool(self._changes))
            await self._burst_settles(data)
            changes, self._changes = self._changes, []
            await self._publish(data.product_id, created="created" in changes)
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


@workflow.defn(name=SYNC_PRODUCT_BATCH_WORKFLOW)
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
            publications += 1
        return SyncProductResult(publications=publications)
