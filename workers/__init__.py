"""Temporal workers, one per task queue: `commerce worker <queue>` runs one, `commerce dev` runs them all.

Each entry names a module whose `build_worker(client, infra)` wires that queue's workflows and activities;
the queues arrive with the flows that need them (registration, product sync, order placement).
"""

WORKERS: dict[str, str] = {"users": "workers.users", "orders": "workers.orders", "catalog": "workers.catalog"}
