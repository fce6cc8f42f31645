"""What the products service announces, always recorded in the transaction of the change (the outbox).

Product changes signal the product's sync workflow, which coalesces a burst and publishes the whole document
(`PRODUCT_CREATED` / `PRODUCT_UPDATED` / `PRODUCT_DELETED` on `product_events`, workflows/sync_product.py).
Category changes are published directly: `CATEGORY_CREATED` / `CATEGORY_UPDATED` (the row) and
`CATEGORY_DELETED {id}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import products
from kit.bus import Event
from kit.outbox import record_event, record_workflow
from kit.settings import Settings
from workflows import sync_product
from workflows.sync_product import Change


@dataclass(frozen=True)
class Notifier:
    """Records notifications in the caller's session; the outbox relay delivers them after commit."""

    task_queue: str = sync_product.TASK_QUEUE
    debounce_seconds: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Notifier:
        queue = settings.catalog_task_queue or sync_product.TASK_QUEUE
        return cls(task_queue=queue, debounce_seconds=settings.product_sync_debounce)

    def product_changed(self, session: AsyncSession, product_id: str, change: Change = "updated") -> None:
        """Signal-with-start the product's sync workflow once this transaction commits."""
        start = sync_product.start(
            product_id, change, task_queue=self.task_queue, debounce_seconds=self.debounce_seconds
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
        record_workflow(session, sync_product.start_batch(product_ids, task_queue=self.task_queue))

    def category_event(
        self, session: AsyncSession, kind: str, category_id: str, payload: dict[str, Any]
    ) -> None:
        record_event(
            session,
            Event(
                type=kind,
                payload=payload,
                source_service=products.SERVICE,
                topic=products.PRODUCT_EVENTS,
                key=category_id,
            ),
        )
