"""Stock activities: reserve, release and restock units through the products service's idempotent ledger."""

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


class Restock(BaseModel):
    """One line of a completed return, to put back on sale."""

    model_config = ConfigDict(frozen=True)

    return_id: str
    order_id: str
    order_item_id: str
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

    @activity.defn(name="restock_return")
    async def restock_return(self, line: Restock) -> int:
        """Put a returned line back on sale, once per return line; returns the units restocked (0 when the
        order no longer holds them, or the variant is gone).
        """
        with refusals():
            restocked = await self._products.restock(
                line.return_id, line.order_id, line.order_item_id, line.variant_id, line.quantity
            )
        if not restocked:
            activity.logger.info("nothing to restock", extra={"returnId": line.return_id})
        return line.quantity if restocked else 0
