"""Order activities: the saga reports each status to the orders service, which guards the transition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from kit.clients import ServiceClient
from kit.errors import Conflict


@dataclass(frozen=True)
class StatusReport:
    order_id: str
    status: str
    reason: str | None = None
    code: str | None = None
    details: list[Any] | None = None
    transaction_id: str | None = None


class OrderActivities:
    def __init__(self, orders: ServiceClient) -> None:
        self._orders = orders

    @activity.defn(name="set_order_status")
    async def set_order_status(self, report: StatusReport) -> None:
        """Idempotent: reporting the status the order already has changes nothing."""
        body = {
            "status": report.status,
            "reason": report.reason,
            "code": report.code,
            "details": report.details,
            "transactionId": report.transaction_id,
        }
        try:
            await self._orders.post(f"/internal/orders/{report.order_id}/status", json=body)
        except Conflict as refused:
            raise ApplicationError(refused.message, type=refused.code, non_retryable=True) from refused
