"""Record SyncProductWorkflow and SyncProductBatchWorkflow histories for the replay test (one JSON file
per scenario and version), as `record_histories.py` does for the order saga:

    git worktree add /tmp/sync-v1 <commit>
    cp tests/workflows/record_sync_histories.py /tmp/sync-v1/tests/workflows/
    cd /tmp/sync-v1 && PYTHONPATH=. /work/main/.venv/bin/python -m tests.workflows.record_sync_histories v1 \
        --out /work/main/tests/workflows/histories/sync_product

It needs only the workflow module of the version and a Temporal server (COMMERCE_TEST_TEMPORAL_ADDRESS,
127.0.0.1:7233 by default: `deploy/local/infra up`); the activities answer here, by name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from workflows import sync_product
from workflows.sync_product import SyncProductBatchWorkflow, SyncProductWorkflow

HISTORIES = Path(__file__).parent / "histories" / "sync_product"


@activity.defn(name="publish_products")
async def publish_products(data: dict[str, Any]) -> dict[str, Any]:
    return {"published": dict.fromkeys(data["product_ids"], 1)}


@activity.defn(name="index_products")
async def index_products(data: dict[str, Any]) -> dict[str, Any]:
    return {"indexed": len(data["product_ids"]), "deleted": 0}


def _start(client: Client, queue: str) -> Callable[..., Awaitable[str]]:
    async def start(*changes: sync_product.Change, pause: float = 0.0) -> str:
        product_id = f"p-{uuid.uuid4().hex[:8]}"
        first = sync_product.start(product_id, changes[0], debounce_seconds=0.5, task_queue=queue)
        handle = await client.start_workflow(
            first.workflow,
            *first.args,
            id=first.id,
            task_queue=queue,
            start_signal=first.signal,
            start_signal_args=first.signal_args,
        )
        for change in changes[1:]:
            await asyncio.sleep(pause)
            await handle.signal(sync_product.PRODUCT_CHANGED_SIGNAL, change)
        await handle.result()
        return first.id

    return start


async def record(address: str) -> dict[str, WorkflowHistory]:
    """Each scenario's history, by name."""
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    queue = f"record-{uuid.uuid4().hex}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[SyncProductWorkflow, SyncProductBatchWorkflow],
        activities=[publish_products, index_products],
    ):
        start = _start(client, queue)
        ids = {
            "created": await start("created"),
            "burst": await start("created", "updated", "updated", pause=0.1),
            "deleted": await start("deleted"),
        }
        batch = sync_product.start_batch([f"p-{n}" for n in range(5)], task_queue=queue)
        batch_handle = await client.start_workflow(batch.workflow, *batch.args, id=batch.id, task_queue=queue)
        await batch_handle.result()
        ids["batch"] = batch.id
    return {name: await client.get_workflow_handle(id_).fetch_history() for name, id_ in ids.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("version")
    parser.add_argument("--out", type=Path, default=HISTORIES)
    args = parser.parse_args()
    address = os.environ.get("COMMERCE_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, history in asyncio.run(record(address)).items():
        (args.out / f"{args.version}-{name}.json").write_text(history.to_json())
        sys.stdout.write(f"recorded {args.version}-{name}\n")


if __name__ == "__main__":
    main()
