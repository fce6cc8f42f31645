"""Through the gateway, on the embedded platform and on real PostgreSQL and Elasticsearch: a customer with a
delivered order reviews the product and the review is a verified purchase (a product created a moment
before is reviewed too); the product's `averageRating` and `reviewCount` move in the catalog's answer and
in search sorted by rating; a second review by the same customer is a 409, a stranger's delete a 403, and a
moderator's delete takes the rating back.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import EMBEDDED_AND_REAL, Shop
from tests.e2e.test_returns import delivered
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), EMBEDDED_AND_REAL]
WITHIN = 60.0  # seconds for an event to cross the platform on a loaded machine


async def review(shop: Shop, headers: dict[str, str], product_id: str, rating: int) -> httpx.Response:
    body = {"productId": product_id, "rating": rating, "title": "Trail tested", "comment": "Grippy and light"}
    return await shop.http.post("/reviews", json=body, headers=headers)


async def figures(shop: Shop, product_id: str) -> tuple[float, int]:
    answer = (await shop.http.get(f"/products/id/{product_id}")).json()
    product = answer.get("data", answer)
    return product["averageRating"], product["reviewCount"]


async def by_rating(shop: Shop) -> list[dict[str, Any]]:
    params = {"sortBy": "averageRating", "sortOrder": "desc", "limit": "2"}
    answer = await shop.http.get("/search/products", params=params)
    assert answer.status_code == 200, answer.text
    hits: list[dict[str, Any]] = answer.json()["data"]
    return hits


async def test_a_verified_review_moves_the_rating_in_the_catalog_and_in_search(shop: Shop) -> None:
    shoe, shoe_variant = await shop.product()
    ada, _ = await shop.customer()
    bob, _ = await shop.customer()
    await delivered(shop, shoe_variant, 1, headers=ada)

    posted = await review(shop, ada, shoe, 5)
    assert posted.status_code == 201, posted.text
    assert posted.json()["isVerifiedPurchase"] is True
    assert posted.json()["user"]["name"] == "Carla Customer"
    assert posted.json()["product"]["name"] == "Trail shoe"
    boot, _ = await shop.product()  # reviewed at once: read from the catalog if its event is still on its way
    unverified = await review(shop, bob, boot, 2)  # bob bought nothing
    assert unverified.status_code == 201, unverified.text
    assert unverified.json()["isVerifiedPurchase"] is False

    await eventually(lambda: _equal(figures(shop, shoe), (5.0, 1)), within=WITHIN, interval=0.2)
    await eventually(lambda: _equal(figures(shop, boot), (2.0, 1)), within=WITHIN, interval=0.2)

    async def ranked() -> bool:
        hits = await by_rating(shop)
        return [(hit["id"], hit["averageRating"]) for hit in hits] == [(shoe, 5.0), (boot, 2.0)]

    await eventually(ranked, within=WITHIN, interval=0.2)

    again = await shop.http.post(
        "/reviews", json={"productId": shoe, "rating": 1, "comment": "Changed my mind"}, headers=ada
    )
    assert again.status_code == 409
    assert again.json()["code"] == "ReviewExists"

    stranger = await shop.http.delete(f"/reviews/{posted.json()['id']}", headers=bob)
    assert stranger.status_code == 403
    assert stranger.json()["code"] == "NotYourReview"
    listed = (await shop.http.get(f"/reviews/product/{shoe}")).json()
    assert [r["id"] for r in listed["data"]] == [posted.json()["id"]]

    moderated = await shop.http.delete(f"/reviews/{posted.json()['id']}", headers=shop.admin)
    assert moderated.status_code == 204
    await eventually(lambda: _equal(figures(shop, shoe), (0.0, 0)), within=WITHIN, interval=0.2)


async def _equal(found: Any, expected: Any) -> bool:
    return bool(await found == expected)
