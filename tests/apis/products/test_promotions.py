"""Promotions, on SQLite and on the real PostgreSQL: the storefront sees the active ones not yet expired, in
display order and in its language; staff write them; a reorder applies to every listed promotion at once or,
when one is unknown, to none.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop

pytestmark = ON_BOTH_DATABASES


def banner(title: str, **fields: Any) -> dict[str, Any]:
    return {
        "title": {"en": title, "fr": f"{title} (fr)"},
        "ctaText": {"en": "Shop now", "fr": "Acheter"},
        "ctaLink": "http://localhost:5173/shop/all",
        "imageUrl": "https://i.imgur.com/banner.png",
        "isActive": True,
    } | fields


async def create(shop: Shop, title: str, **fields: Any) -> dict[str, Any]:
    response = await shop.call("POST", "/promotions", json=banner(title, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def shown(shop: Shop, language: str = "en") -> list[str]:
    response = await shop.call("GET", "/promotions", as_=None, headers={"Accept-Language": language})
    assert response.status_code == 200, response.text
    return [p["title"] for p in response.json()]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_the_storefront_sees_active_unexpired_promotions_in_order_and_in_its_language(
    shop: Shop,
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    await create(shop, "Chair", displayOrder=2)
    await create(shop, "Fan", displayOrder=1, expiresAt=iso(soon), subtitle={"en": "Cool", "fr": "Frais"})
    await create(shop, "Jogger", displayOrder=0, expiresAt=iso(datetime.now(UTC) - timedelta(seconds=1)))
    await create(shop, "Draft", isActive=False)

    assert await shown(shop) == ["Fan", "Chair"]
    french = (await shop.call("GET", "/promotions", as_=None, headers={"Accept-Language": "fr-FR"})).json()
    assert [(p["title"], p["subtitle"], p["ctaText"]) for p in french] == [
        ("Fan (fr)", "Frais", "Acheter"),
        ("Chair (fr)", None, "Acheter"),
    ]
    everything = (await shop.call("GET", "/promotions/all", as_="admin")).json()
    assert [p["title"]["en"] for p in everything] == ["Jogger", "Draft", "Fan", "Chair"]


async def test_a_promotion_leaves_the_storefront_when_it_expires(shop: Shop) -> None:
    created = await create(shop, "Flash")
    assert await shown(shop) == ["Flash"]
    past = iso(datetime.now(UTC) - timedelta(minutes=1))
    changed = await shop.call("PUT", f"/promotions/{created['id']}", json={"expiresAt": past})
    assert changed.status_code == 200, changed.text
    assert await shown(shop) == []
    kept = await shop.call("PUT", f"/promotions/{created['id']}", json={"tagline": {"en": "Last call"}})
    assert kept.json()["expiresAt"] == changed.json()["expiresAt"]  # omitted: kept, not reset
    cleared = await shop.call("PUT", f"/promotions/{created['id']}", json={"expiresAt": None})
    assert cleared.json()["expiresAt"] is None
    assert await shown(shop) == ["Flash"]


async def test_a_reorder_applies_to_every_listed_promotion_at_once(shop: Shop) -> None:
    ids = [(await create(shop, name))["id"] for name in ("A", "B", "C")]
    response = await shop.call("PUT", "/promotions/reorder", json={"orderedIds": [ids[2], ids[0], ids[1]]})
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Promotions reordered successfully."}
    assert await shown(shop) == ["C", "A", "B"]

    unknown = str(uuid.uuid4())
    refused = await shop.call("PUT", "/promotions/reorder", json={"orderedIds": [ids[1], unknown, ids[0]]})
    assert refused.status_code == 404
    assert refused.json()["details"] == [{"promotionId": unknown}]
    assert await shown(shop) == ["C", "A", "B"]  # nothing moved


@pytest.mark.parametrize(
    "body",
    [
        {"orderedIds": "not a list"},
        {},
        {"orderedIds": ["not-a-uuid"]},
        {"orderedIds": ["9f1c1ef0-0000-4000-8000-000000000001"] * 2},
    ],
)
async def test_a_bad_reorder_is_a_400(shop: Shop, body: dict[str, Any]) -> None:
    response = await shop.call("PUT", "/promotions/reorder", json=body)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("missing", ["title", "ctaText", "ctaLink", "imageUrl"])
async def test_a_promotion_needs_its_title_cta_and_image(shop: Shop, missing: str) -> None:
    body = banner("Fan")
    del body[missing]
    response = await shop.call("POST", "/promotions", json=body)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == missing


async def test_a_promotion_is_read_changed_and_deleted_by_id(shop: Shop) -> None:
    created = await create(shop, "Salon Chair", productImageUrl="https://i.imgur.com/chair.png")
    path = f"/promotions/{created['id']}"
    assert (await shop.call("GET", path)).json() == created
    assert (await shop.call("PUT", path, json={"title": None})).status_code == 400
    assert (await shop.call("DELETE", path)).status_code == 204
    for method in ("GET", "PUT", "DELETE"):
        gone = await shop.call(method, path, json={"isActive": False} if method == "PUT" else None)
        assert (gone.status_code, gone.json()["message"]) == (404, "Promotion not found.")


async def test_staff_without_the_permissions_are_refused(shop: Shop) -> None:
    created = await create(shop, "Fan")
    for caller in ("customer", "supervisor"):
        assert (await shop.call("POST", "/promotions", as_=caller, json=banner("X"))).status_code == 403
        assert (await shop.call("GET", "/promotions/all", as_=caller)).status_code == 403
        assert (await shop.call("GET", f"/promotions/{created['id']}", as_=caller)).status_code == 403
    assert (
        await shop.call("PUT", "/promotions/reorder", as_=None, json={"orderedIds": []})
    ).status_code == 401
    assert await shown(shop) == ["Fan"]
