"""Cart activities: an order placed from a cart empties it."""

from __future__ import annotations

from temporalio import activity

from activities.refusals import refusals
from contracts.carts import CartsClient


class CartActivities:
    def __init__(self, carts: CartsClient) -> None:
        self._carts = carts

    @activity.defn(name="clear_cart")
    async def clear_cart(self, cart_id: str) -> None:
        """Empty the cart; one that already expired is fine."""
        with refusals():
            if not await self._carts.clear(cart_id):
                activity.logger.info("cart already gone", extra={"cartId": cart_id})
