"""Temporal workers, one per task queue: `commerce worker <queue>` runs one, `commerce dev` runs them all.

Each entry names a module whose `build_worker(client, infra)` wires that queue's workflows and activities
(and whose optional `prepare(client, infra)` creates what the queue needs first, such as schedules); the
queues arrive with the flows that need them (registration, product sync, order placement).
"""

from workflows import place_order, register_user, sync_product

WORKERS: dict[str, str] = {
    register_user.TASK_QUEUE: "workers.users",
    place_order.TASK_QUEUE: "workers.orders",
    sync_product.TASK_QUEUE: "workers.catalog",
}
