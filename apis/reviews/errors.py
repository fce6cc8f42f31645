"""The reviews service's refusals, in the seed's words where it had some."""

from __future__ import annotations

from contracts import reviews
from kit.errors import Conflict, Forbidden, NotFound, Unavailable


class ReviewNotFound(NotFound):
    default_code = reviews.REVIEW_NOT_FOUND

    def __init__(self, review_id: str) -> None:
        super().__init__("Review not found.", details=[{"reviewId": review_id}])


class ProductNotFound(NotFound):
    default_code = "ProductNotFound"

    def __init__(self, product_id: str) -> None:
        super().__init__("Product not found.", details=[{"productId": product_id}])


class ReviewExists(Conflict):
    default_code = reviews.REVIEW_EXISTS

    def __init__(self, product_id: str) -> None:
        super().__init__("You have already reviewed this product.", details=[{"productId": product_id}])


class NotYourReview(Forbidden):
    default_code = reviews.NOT_YOUR_REVIEW

    def __init__(self, action: str) -> None:
        super().__init__(f"Forbidden: You can only {action} your own reviews.")


class CannotCheck(Unavailable):
    """A service a review is checked with could not answer: nothing was written, and the client may retry."""

    def __init__(self, code: str, what: str) -> None:
        super().__init__(
            f"{what} right now; nothing was saved, please try again.", code=code, headers={"Retry-After": "5"}
        )


def catalog_unavailable() -> CannotCheck:
    """A product the reviews service has no copy of yet, and the catalog cannot be asked."""
    return CannotCheck(reviews.CATALOG_UNAVAILABLE, "The catalog cannot confirm this product")


def orders_unavailable() -> CannotCheck:
    """The orders service cannot say whether the reviewer received the product."""
    return CannotCheck(reviews.ORDERS_UNAVAILABLE, "The orders service cannot confirm your purchase")
