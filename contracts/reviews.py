"""The reviews service's seam: its name, its consumer group, the permissions of its routes (granted by the
auth service's seed) and what it publishes on `review_events` (key: the product id).

`REVIEW_UPDATED {productId, averageRating, reviewCount, version}` follows every review written, changed or
deleted, recorded in the reviews service's outbox with the change. `version` (in the payload and the
envelope) grows with each figure of a product, so the products service keeps the newest figures whatever
order the events arrive in, and a redelivered one changes nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SERVICE = "reviews"
GROUP = "reviews"  # the consumer group: its own offsets on auth_events and product_events
REVIEW_EVENTS = "review_events"

REVIEW_UPDATED = "REVIEW_UPDATED"

# The seed's permissions, and ours: deleting another customer's review is moderation, not `delete:review`
# (which every customer holds, for their own reviews).
READ_REVIEW = "read:review"
WRITE_REVIEW = "write:review"
DELETE_REVIEW = "delete:review"
MODERATE_REVIEW = "moderate:review"

# Refusal codes.
REVIEW_EXISTS = "ReviewExists"
REVIEW_NOT_FOUND = "ReviewNotFound"
NOT_YOUR_REVIEW = "NotYourReview"
ORDERS_UNAVAILABLE = "OrdersUnavailable"
CATALOG_UNAVAILABLE = "CatalogUnavailable"

MAX_RATING = 5


class RatingFigures(BaseModel):
    """The payload of REVIEW_UPDATED: a product's figures over its reviews, as of `version`."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    product_id: str
    average_rating: float = Field(ge=0, le=MAX_RATING)  # 0 without reviews, as the seed sent it
    review_count: int = Field(ge=0)
    version: int = Field(ge=1)
