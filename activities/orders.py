"""Order activities: the saga reports each status to the orders service, which guards the transition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import activity

from activities.refusals import refusals
from kit.clients import ServiceClient


@dataclass(frozen=True)
class StatusReport:
    order_id: str
    status: str
    reason: str | None = None
    code: str | None = None
    details: list[Any] | None = None
    transaction_id: str | None = None
    parked: list[dict[str, str]] | None = None  # compensations waiting for an operator


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
            "parked": report.parked,
        }
        with refusals():
            await self._orders.post(f"/internal/orders/{report.order_id}/status", json=body)
