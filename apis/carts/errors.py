"""What the carts service refuses, as the kit's error family."""

from kit.errors import BadRequest, NotFound


class CartNotFound(NotFound):
    default_code = "CartNotFound"

    def __init__(self, cart_id: str) -> None:
        super().__init__(f"Cart {cart_id} not found.")


class ItemNotFound(NotFound):
    default_code = "ItemNotFound"

    def __init__(self, item_id: str) -> None:
        super().__init__(f"Item {item_id} not found in cart.")


class QuantityTooLarge(BadRequest):
    default_code = "QuantityTooLarge"

    def __init__(self, quantity: int, maximum: int) -> None:
        super().__init__(
            f"At most {maximum} units per cart line; {quantity} requested.",
            details=[{"field": "quantity", "maximum": maximum}],
        )
