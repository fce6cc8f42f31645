"""Order activities: the saga reports each status, and a return's workflow its settlement, to the orders
service, which guards each change."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from activities.refusals import refusals
from contracts.orders import OrdersClient, ReturnSettled, StatusReport
from kit import metrics


class ReturnReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    return_id: str
    settled: ReturnSettled


class OrderActivities:
    def __init__(self, orders: OrdersClient) -> None:
        self._orders = orders

    @activity.defn(name="set_order_status")
    async def set_order_status(self, report: StatusReport) -> None:
        """Idempotent: reporting the status the order already has changes nothing."""
        with refusals():
            await self._orders.report_status(report)
        metrics.record_saga_outcome(report.status, report.code, parked=bool(report.parked))

    @activity.defn(name="settle_return")
    async def settle_return(self, report: ReturnReport) -> None:
        """Idempotent: a return already settled stays as it was."""
        with refusals():
            await self._orders.report_return_settled(report.return_id, report.settled)
