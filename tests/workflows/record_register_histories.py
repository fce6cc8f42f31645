"""Record RegisterUserWorkflow histories for the replay test (one JSON file per version), as
`record_sync_histories.py` does for the product sync; run from a checkout of the version to record:

    PYTHONPATH=. .venv/bin/python -m tests.workflows.record_register_histories v1 \
        --out tests/workflows/histories/register_user

It needs only the workflow module of the version and a Temporal server (COMMERCE_TEST_TEMPORAL_ADDRESS,
127.0.0.1:7233 by default); the activity answers here, by name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from workflows import register_user
from workflows.register_user import RegisterUserInput, RegisterUserWorkflow

HISTORIES = Path(__file__).parent / "histories" / "register_user"


@activity.defn(name="publish_user_event")
async def publish_user_event(data: dict[str, Any]) -> str:
    return str(data["event_id"])


async def record(address: str) -> WorkflowHistory:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    queue = f"record-{uuid.uuid4().hex}"
    fields: dict[str, Any] = {"user_id": str(uuid.uuid4()), "name": "Ada", "email": "ada@example.com"}
    if "language" in RegisterUserInput.model_fields:  # from v1 on
        fields["language"] = "fr"
    start = register_user.start(RegisterUserInput(**fields))
    async with Worker(
        client, task_queue=queue, workflows=[RegisterUserWorkflow], activities=[publish_user_event]
    ):
        handle = await client.start_workflow(start.workflow, *start.args, id=start.id, task_queue=queue)
        await handle.result()
    return await handle.fetch_history()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("version")
    parser.add_argument("--out", type=Path, default=HISTORIES)
    args = parser.parse_args()
    address = os.environ.get("COMMERCE_TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.version}-registered.json").write_text(asyncio.run(record(address)).to_json())
    sys.stdout.write(f"recorded {args.version}-registered\n")


if __name__ == "__main__":
    main()
