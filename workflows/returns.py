"""A completed return's workflow: put each returned line back on sale through the stock ledger
(`RETURN_RESTOCK`), refund a card order the returned lines' amount, then report the return settled to the
orders service.

Once per return: the workflow id comes from the return id and a duplicate start is a no-op (the outbox
starts it with `REJECT_DUPLICATE` / `USE_EXISTING`), and each effect is idempotent by its own key (the ledger
by `return-{returnId}-{orderItemId}`, the refund by the return id), so a retried activity restocks and refunds
once. Every step is retried with backoff for up to a day (an operator finds a workflow that gave up among the
failed `ReturnWorkflow` runs); the report is retried until the orders service answers.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ConfigDict

    from activities.inventory import InventoryActivities, Restock
    from activities.orders import OrderActivities, ReturnReport
    from activities.payments import PaymentActivities, Refund
    from contracts.orders import ReturnSettled
    from kit.outbox import WorkflowStart
    from workflows import place_order

WORKFLOW = "ReturnWorkflow"
TASK_QUEUE = place_order.TASK_QUEUE  # run by the orders worker
STEP_TIMEOUT = timedelta(seconds=10)  # one attempt of one activity
STEP_DEADLINE = timedelta(days=1)  # a step retried this long gives up: the workflow fails, for an operator
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


def workflow_id(return_id: str) -> str:
    return f"return-{return_id}"


class ReturnLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_item_id: str
    variant_id: str
    quantity: int


class ReturnInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    return_id: str
    order_id: str
    lines: list[ReturnLine]
    refund_amount: str | None = None  # base currency; None: nothing to refund (not a card order)


def start(data: ReturnInput) -> WorkflowStart:
    """The return's workflow, to start through the outbox in the transaction that completes the return."""
    return WorkflowStart(
        workflow=WORKFLOW, id=workflow_id(data.return_id), task_queue=TASK_QUEUE, args=[data.model_dump()]
    )


@workflow.defn(name=WORKFLOW)
class ReturnWorkflow:
    @workflow.run
    async def run(self, data: ReturnInput) -> ReturnSettled:
        restocked = 0
        for line in data.lines:
            restock = Restock(
                return_id=data.return_id,
                order_id=data.order_id,
                order_item_id=line.order_item_id,
                variant_id=line.variant_id,
                quantity=line.quantity,
            )
            restocked += await workflow.execute_activity_method(
                InventoryActivities.restock_return,
                restock,
                start_to_close_timeout=STEP_TIMEOUT,
                schedule_to_close_timeout=STEP_DEADLINE,
                retry_policy=RETRY,
            )
        refund_id = None
        if data.refund_amount is not None:
            refund = Refund(order_id=data.order_id, key=data.return_id, amount=data.refund_amount)
            refund_id = await workflow.execute_activity_method(
                PaymentActivities.refund_return,
                refund,
                start_to_close_timeout=STEP_TIMEOUT,
                schedule_to_close_timeout=STEP_DEADLINE,
                retry_policy=RETRY,
            )
        settled = ReturnSettled(
            restocked_units=restocked, refunded_amount=data.refund_amount, refund_id=refund_id
        )
        await workflow.execute_activity_method(
            OrderActivities.settle_return,
            ReturnReport(return_id=data.return_id, settled=settled),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=RETRY,  # unlimited: the restock and the refund happened, the return must say so
        )
        return settled
