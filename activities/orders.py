"""Order activities: the saga reports each status to the orders service, which guards the transition."""

from __future__ import annotations

from temporalio import activity

from activities.refusals import refusals
from contracts.orders import OrdersClient, StatusReport
from kit import metrics


class OrderActivities:
    def __init__(self, orders: OrdersClient) -> None:
        self._orders = orders

    @activity.defn(name="set_order_status")
    async def set_order_status(self, report: StatusReport) -> None:
        """Idempotent: reporting the status the order already has changes nothing."""
        with refusals():
            await self._orders.report_status(report)
        metrics.record_saga_outcome(report.status, report.code, parked=bool(report.parked))
