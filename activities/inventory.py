"""Stock activities: reserve and release units through the products service's idempotent ledger."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from activities.refusals import refusals
from contracts.products import ProductsClient


class StockChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    variant_id: str
    quantity: int


class InventoryActivities:
    def __init__(self, products: ProductsClient) -> None:
        self._products = products

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, change: StockChange) -> None:
        """Take the units out of stock; a retry is answered, not applied again. Too few units left or no
        such variant are refusals (not retried); an unreachable service is retried.
        """
        with refusals():
            await self._products.reserve(change.order_id, change.variant_id, change.quantity)

    @activity.defn(name="release_stock")
    async def release_stock(self, change: StockChange) -> None:
        """Give back what the order holds of the variant: nothing, if the reservation never happened or the
        variant is gone.
        """
        with refusals():
            released = await self._products.release(change.order_id, change.variant_id, change.quantity)
        if not released:
            activity.logger.info("nothing to release", extra={"orderId": change.order_id})
