"""Cart activities: an order placed from a cart empties it."""

from __future__ import annotations

from temporalio import activity

from activities.refusals import refusals
from kit.clients import ServiceClient
from kit.errors import NotFound


class CartActivities:
    def __init__(self, carts: ServiceClient) -> None:
        self._carts = carts

    @activity.defn(name="clear_cart")
    async def clear_cart(self, cart_id: str) -> None:
        """Empty the cart; one that already expired is fine."""
        with refusals():
            try:
                await self._carts.delete(f"/{cart_id}/items")
            except NotFound:
                activity.logger.info("cart already gone", extra={"cartId": cart_id})
