"""The carts service's seam: reading a cart's lines to order them, and emptying it once ordered."""

from __future__ import annotations

from dataclasses import dataclass

from kit.clients import ServiceClient
from kit.errors import NotFound

SERVICE = "carts"
CART_PATH = "/{cartId}"
CART_ITEMS_PATH = "/{cartId}/items"


@dataclass(frozen=True)
class CartLines:
    """Quantity per variant (a variant listed twice is one line), and the cart's owner (None: a guest's)."""

    user_id: str | None
    quantities: dict[str, int]


class CartsClient:
    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    async def lines(self, cart_id: str) -> CartLines:
        """Raises NotFound for a cart that does not exist (or expired)."""
        cart = await self._http.get(CART_PATH.format(cartId=cart_id))
        quantities: dict[str, int] = {}
        for item in cart.get("items", []):
            quantities[item["variantId"]] = quantities.get(item["variantId"], 0) + int(item["quantity"])
        return CartLines(user_id=cart.get("userId"), quantities=quantities)

    async def clear(self, cart_id: str) -> bool:
        """Empty the cart; False when it is already gone (expired)."""
        try:
            await self._http.delete(CART_ITEMS_PATH.format(cartId=cart_id))
        except NotFound:
            return False
        return True
