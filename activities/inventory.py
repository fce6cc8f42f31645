"""Stock activities: reserve and release units through the products service's idempotent ledger."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.refusals import refusal, refusals
from kit.clients import ServiceClient
from kit.errors import Conflict, NotFound


@dataclass(frozen=True)
class StockChange:
    order_id: str
    variant_id: str
    quantity: int


class InventoryActivities:
    def __init__(self, products: ServiceClient) -> None:
        self._products = products

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, change: StockChange) -> None:
        """Take the units out of stock; a retry with the same key is answered, not applied again."""
        body = {
            "changeQuantity": -change.quantity,
            "type": "ORDER",
            "relatedOrderId": change.order_id,
            "reason": f"Order placement: {change.order_id}",
            "idempotencyKey": f"order-{change.order_id}-{change.variant_id}",
        }
        await self._adjust(change, body)

    @activity.defn(name="release_stock")
    async def release_stock(self, change: StockChange) -> None:
        """Give back what the order holds of the variant: nothing, if the reservation never happened or the
        variant is gone (a deleted variant has no stock to return to).
        """
        body = {
            "changeQuantity": change.quantity,
            "type": "ORDER_CANCELLED",
            "relatedOrderId": change.order_id,
            "reason": f"Order compensation: {change.order_id}",
            "idempotencyKey": f"order-{change.order_id}-{change.variant_id}-release",
        }
        try:
            await self._adjust(change, body)
        except ApplicationError as refused:
            if refused.type not in ("ReleaseExceedsReservation", "VariantNotFound"):
                raise
            activity.logger.info(
                "nothing to release", extra={"orderId": change.order_id, "reason": refused.type}
            )

    async def _adjust(self, change: StockChange, body: dict[str, object]) -> None:
        """Business refusals become non-retryable errors; an unreachable service propagates and is retried."""
        with refusals():
            try:
                await self._products.post(f"/stock/adjust/{change.variant_id}", json=body)
            except NotFound as missing:
                details = [{"variantId": change.variant_id}]
                raise refusal(missing, details=details, code="VariantNotFound") from missing
            except Conflict as short:
                if short.code != "InsufficientStock":
                    raise
                # in the order's words: units asked for, units left
                details = short.details or []
                available = next((d.get("available") for d in details if isinstance(d, dict)), None)
                message = (
                    f"Only {available} of variant {change.variant_id} left; {change.quantity} requested."
                )
                wanted = {
                    "variantId": change.variant_id,
                    "requested": change.quantity,
                    "available": available,
                }
                raise refusal(short, message, [wanted]) from short
