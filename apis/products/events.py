"""What the products service announces, always recorded in the transaction of the change (the outbox).

Product changes signal the product's sync workflow, which coalesces a burst and publishes the whole document
(`PRODUCT_CREATED` / `PRODUCT_UPDATED` / `PRODUCT_DELETED` on `product_events`, workflows/sync_product.py).
Category changes are published directly: `CATEGORY_CREATED` / `CATEGORY_UPDATED` (the row) and
`CATEGORY_DELETED {id}`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from activities.catalog import PRODUCT_EVENTS_TOPIC
from kit.bus import Event
from kit.outbox import WorkflowStart, record_event, record_workflow
from kit.settings import Settings
from workflows.sync_product import (
    PRODUCT_CHANGED_SIGNAL,
    SYNC_PRODUCT_BATCH_WORKFLOW,
    SYNC_PRODUCT_WORKFLOW,
    SyncProductBatchInput,
    SyncProductInput,
    sync_workflow_id,
)

SOURCE_SERVICE = "products"
CATEGORY_CREATED = "CATEGORY_CREATED"
CATEGORY_UPDATED = "CATEGORY_UPDATED"
CATEGORY_DELETED = "CATEGORY_DELETED"

Change = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class Notifier:
    """Records notifications in the caller's session; the outbox relay delivers them after commit."""

    task_queue: str = "catalog"
    debounce_seconds: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Notifier:
        return cls(task_queue=settings.catalog_task_queue, debounce_seconds=settings.product_sync_debounce)

    def product_changed(self, session: AsyncSession, product_id: str, change: Change = "updated") -> None:
        """Signal-with-start the product's sync workflow once this transaction commits."""
        data = SyncProductInput(
            product_id=product_id,
            debounce_seconds=self.debounce_seconds,
            max_delay_seconds=max(30.0, 10 * self.debounce_seconds),
        )
        start = WorkflowStart(
            workflow=SYNC_PRODUCT_WORKFLOW,
            id=sync_workflow_id(product_id),
            task_queue=self.task_queue,
            args=[data.model_dump()],
            signal=PRODUCT_CHANGED_SIGNAL,
            signal_args=[change],
        )
        record_workflow(session, start, dedup_id=f"{start.id}:{change}")

    def products_changed(self, session: AsyncSession, product_ids: Iterable[str], change: Change) -> None:
        for product_id in dict.fromkeys(product_ids):
            self.product_changed(session, product_id, change)

    def products_created(self, session: AsyncSession, product_ids: list[str]) -> None:
        """Many new products at once (the demo generator): one batch workflow announces them all."""
        if len(product_ids) == 1:
            self.product_changed(session, product_ids[0], "created")
            return
        start = WorkflowStart(
            workflow=SYNC_PRODUCT_BATCH_WORKFLOW,
            id=f"product-batch-{uuid.uuid4()}",
            task_queue=self.task_queue,
            args=[SyncProductBatchInput(product_ids=product_ids).model_dump()],
        )
        record_workflow(session, start)

    def category_event(
        self, session: AsyncSession, kind: str, category_id: str, payload: dict[str, Any]
    ) -> None:
        record_event(
            session,
            Event(
                type=kind,
                payload=payload,
                source_service=SOURCE_SERVICE,
                topic=PRODUCT_EVENTS_TOPIC,
                key=category_id,
            ),
        )
