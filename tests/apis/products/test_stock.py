"""The stock ledger: conditional updates that never oversell, idempotent adjustments, an always-empty
reconcile, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop

pytestmark = ON_BOTH_DATABASES

ORDER = "5b1c7c2e-0d0e-4f6a-9a55-000000000001"


async def quantity(shop: Shop, product_id: str) -> int:
    variants = (await shop.call("GET", f"/{product_id}/variants")).json()
    return int(variants[0]["stockQuantity"])


async def test_fifty_concurrent_decrements_of_a_stock_of_ten_sell_exactly_ten(shop: Shop) -> None:
    product = await shop.product(stock=10)
    variant_id = product["variants"][0]["id"]
    token = shop.tokens.headers("service")
    path = f"/stock/adjust/{variant_id}"
    responses = await asyncio.gather(
        *(
            shop.client.post(path, headers=token, json={"changeQuantity": -1, "type": "ADJUSTMENT"})
            for _ in range(50)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: 10, 409: 40}
    refused = next(r.json() for r in responses if r.status_code == 409)
    assert refused["code"] == "InsufficientStock"
    assert refused["details"] == [{"variantId": variant_id, "requestedChange": -1, "available": 0}]
    assert sorted(r.json()["newStockQuantity"] for r in responses if r.status_code == 201) == list(range(10))
    assert await quantity(shop, product["id"]) == 0
    report = (await shop.call("GET", "/stock/reconcile")).json()
    assert report == {"variantsChecked": 1, "mismatches": []}


async def test_concurrent_requests_with_one_key_apply_once(shop: Shop) -> None:
    product = await shop.product(stock=10)
    variant_id = product["variants"][0]["id"]
    key = f"order-{ORDER}-{variant_id}"
    responses = await asyncio.gather(
        *(
            shop.adjust(variant_id, -3, as_="service", type="ORDER", relatedOrderId=ORDER, idempotencyKey=key)
            for _ in range(10)
        )
    )
    assert {r.status_code for r in responses} == {201}
    assert Counter(r.json()["replayed"] for r in responses) == {True: 9, False: 1}
    assert {r.json()["movement"]["id"] for r in responses} == {responses[0].json()["movement"]["id"]}
    assert await quantity(shop, product["id"]) == 7
    assert (await shop.call("GET", "/stock/reconcile")).json()["mismatches"] == []


async def test_a_repeated_key_answers_the_first_result_and_changes_nothing(shop: Shop) -> None:
    product = await shop.product(stock=5)
    variant_id = product["variants"][0]["id"]
    first = await shop.adjust(variant_id, -2, idempotencyKey="restock-1")
    await shop.adjust(variant_id, -1)
    again = await shop.adjust(variant_id, -2, idempotencyKey="restock-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() | {"replayed": True}
    assert again.json()["newStockQuantity"] == 3  # the first result, not today's quantity (2)
    assert await quantity(shop, product["id"]) == 2


async def test_a_key_reused_for_another_change_is_a_409(shop: Shop) -> None:
    product = await shop.product(stock=5)
    variant_id = product["variants"][0]["id"]
    await shop.adjust(variant_id, -2, idempotencyKey="k-reused")
    response = await shop.adjust(variant_id, -3, idempotencyKey="k-reused")
    assert (response.status_code, response.json()["code"]) == (409, "IdempotencyKeyReused")


async def test_an_order_releases_only_what_it_reserved(shop: Shop) -> None:
    product = await shop.product(stock=5)
    variant_id = product["variants"][0]["id"]
    order = {"relatedOrderId": ORDER, "as_": "service"}
    key = f"order-{ORDER}-{variant_id}"
    never = await shop.adjust(variant_id, 2, type="ORDER_CANCELLED", idempotencyKey=f"{key}-release", **order)
    assert (never.status_code, never.json()["code"]) == (409, "ReleaseExceedsReservation")
    assert (await shop.adjust(variant_id, -2, type="ORDER", idempotencyKey=key, **order)).status_code == 201
    release = await shop.adjust(
        variant_id, 2, type="ORDER_CANCELLED", idempotencyKey=f"{key}-release", **order
    )
    assert (release.status_code, release.json()["newStockQuantity"]) == (201, 5)
    twice = await shop.adjust(variant_id, 2, type="ORDER_CANCELLED", idempotencyKey="other-key", **order)
    assert twice.status_code == 409
    restock = await shop.adjust(
        variant_id, 1, type="RETURN_RESTOCK", **order
    )  # nothing left to return either
    assert restock.status_code == 409
    assert await quantity(shop, product["id"]) == 5


async def test_an_unknown_variant_is_a_404(shop: Shop) -> None:
    response = await shop.adjust("00000000-0000-4000-8000-000000000000", 1)
    assert (response.status_code, response.json()["code"]) == (404, "VariantNotFound")


async def test_history_lists_movements_newest_first(shop: Shop) -> None:
    product = await shop.product(stock=5)
    variant_id = product["variants"][0]["id"]
    await shop.adjust(variant_id, -1, reason="broken")
    await shop.adjust(variant_id, 3, type="RETURN_RESTOCK")
    history = (await shop.call("GET", f"/stock/history/{variant_id}")).json()
    assert [(m["type"], m["changeQuantity"], m["quantityAfter"]) for m in history] == [
        ("RETURN_RESTOCK", 3, 7),
        ("ADJUSTMENT", -1, 4),
        ("INITIAL_STOCK", 5, 5),
    ]
    assert (await shop.call("GET", f"/stock/history/{variant_id}?limit=1")).json()[0]["quantityAfter"] == 7


async def test_retries_racing_their_first_attempt_all_answer_its_result(shop: Shop) -> None:
    product = await shop.product(stock=3)
    variant_id = product["variants"][0]["id"]
    key = f"order-{ORDER}-{variant_id}"
    responses = await asyncio.gather(
        *(
            shop.adjust(variant_id, -3, as_="service", type="ORDER", relatedOrderId=ORDER, idempotencyKey=key)
            for _ in range(5)
        )
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert Counter(r.json()["replayed"] for r in responses) == {True: 4, False: 1}
    assert {r.json()["newStockQuantity"] for r in responses} == {0}
    history = (await shop.call("GET", f"/stock/history/{variant_id}")).json()
    assert [m["type"] for m in history] == ["ORDER", "INITIAL_STOCK"]
    assert (await shop.call("GET", "/stock/reconcile")).json()["mismatches"] == []


async def test_the_same_key_from_two_callers_is_two_keys(shop: Shop) -> None:
    product = await shop.product(stock=10)
    variant_id = product["variants"][0]["id"]
    key = f"order-{ORDER}-{variant_id}"
    reserve = {"type": "ORDER", "relatedOrderId": ORDER, "idempotencyKey": key}
    by_orders = await shop.adjust(variant_id, -2, as_="service", **reserve)
    by_staff = await shop.adjust(variant_id, -2, as_="admin", **reserve)
    another = shop.tokens.headers("service:another")
    body = {"changeQuantity": -3, "type": "ORDER", "relatedOrderId": ORDER, "idempotencyKey": key}
    by_another = await shop.client.post(f"/stock/adjust/{variant_id}", headers=another, json=body)
    assert [r.status_code for r in (by_orders, by_staff, by_another)] == [201, 201, 201]
    assert [r.json()["replayed"] for r in (by_orders, by_staff, by_another)] == [False, False, False]
    assert {r.json()["movement"]["idempotencyKey"] for r in (by_orders, by_staff, by_another)} == {key}
    again = await shop.adjust(variant_id, -2, as_="service", **reserve)
    assert again.json() == by_orders.json() | {"replayed": True}
    assert await quantity(shop, product["id"]) == 3
