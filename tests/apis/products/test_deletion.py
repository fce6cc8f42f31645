"""Deleting a product: one never ordered is removed with its ledger; one whose variants have orders is
archived (hidden as if deleted, refused to new orders), so that its orders can still release or return stock.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop

pytestmark = ON_BOTH_DATABASES

ORDER = "5b1c7c2e-0d0e-4f6a-9a55-000000000002"


def order_movement(kind: str) -> dict[str, Any]:
    key = f"order-{ORDER}-{kind}"
    return {"as_": "service", "type": kind, "relatedOrderId": ORDER, "idempotencyKey": key}


async def variant_details(shop: Shop, variant_id: str) -> Any:
    response = await shop.call(
        "POST", "/internal/variant-details", as_="service", json={"variantIds": [variant_id]}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_product_with_orders_is_archived_and_its_orders_can_still_release(shop: Shop) -> None:
    product = await shop.product(stock=5)
    pid, vid, sku = product["id"], product["variants"][0]["id"], product["sku"]
    assert (await shop.adjust(vid, -2, **order_movement("ORDER"))).status_code == 201
    assert (await shop.call("DELETE", f"/{pid}")).status_code == 204

    assert (await shop.call("GET", f"/id/{pid}")).status_code == 404
    assert (await shop.call("GET", f"/sku/{sku}")).status_code == 404
    assert (await shop.call("GET", f"/{pid}/variants")).status_code == 404
    assert (await shop.call("GET", f"/?q={sku}")).json()["pagination"]["total"] == 0
    assert await variant_details(shop, vid) == {}  # refused to new orders
    another = {"as_": "service", "type": "ORDER", "relatedOrderId": "another-order"}
    refused = await shop.adjust(vid, -1, **another)
    assert (refused.status_code, refused.json()["code"]) == (404, "VariantNotFound")
    assert (await shop.call("DELETE", f"/{pid}")).status_code == 404

    release = await shop.adjust(vid, 2, **order_movement("ORDER_CANCELLED"))
    assert (release.status_code, release.json()["newStockQuantity"]) == (201, 5), release.text
    history = (await shop.call("GET", f"/stock/history/{vid}")).json()
    assert [m["type"] for m in history] == ["ORDER_CANCELLED", "ORDER", "INITIAL_STOCK"]
    assert (await shop.call("GET", "/stock/reconcile")).json()["mismatches"] == []
    assert (await shop.product(sku=sku))["sku"] == sku  # the SKU is free again


async def test_a_product_never_ordered_is_removed_with_its_ledger(shop: Shop) -> None:
    product = await shop.product(stock=5)
    pid, vid = product["id"], product["variants"][0]["id"]
    assert (await shop.adjust(vid, -1)).status_code == 201  # not an order
    assert (await shop.call("DELETE", f"/{pid}")).status_code == 204
    assert (await shop.call("GET", f"/stock/history/{vid}")).status_code == 404
    gone = await shop.adjust(vid, 1, **order_movement("ORDER_CANCELLED"))
    assert (gone.status_code, gone.json()["code"]) == (404, "VariantNotFound")


async def test_a_reservation_racing_the_deletion_is_either_kept_or_refused(shop: Shop) -> None:
    product = await shop.product(stock=5)
    pid, vid = product["id"], product["variants"][0]["id"]
    reserved, deleted = await asyncio.gather(
        shop.adjust(vid, -1, **order_movement("ORDER")), shop.call("DELETE", f"/{pid}")
    )
    assert deleted.status_code == 204
    history = await shop.call("GET", f"/stock/history/{vid}")
    if reserved.status_code == 201:  # the order came first: its ledger is kept
        assert [m["type"] for m in history.json()] == ["ORDER", "INITIAL_STOCK"]
    else:
        assert (reserved.json()["code"], history.status_code) == ("VariantNotFound", 404)
