"""Through the gateway: carts, orders and the saga, as shop clients and staff use them."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.e2e.conftest import ADDRESS, Shop
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


async def test_a_guest_fills_a_cart_and_orders_it_at_catalog_prices(shop: Shop) -> None:
    product_id, variant_id = await shop.product(stock=10, price="25.00")
    cart = (await shop.http.post("/carts")).json()
    added = await shop.http.post(
        f"/carts/{cart['id']}/items",
        json={"variantId": variant_id, "quantity": 2, "price": 0.01, "name": "x"},
    )
    assert added.status_code == 200, added.text
    assert added.json()["items"][0]["price"] == "25.00"

    response = await shop.http.post(
        "/orders",
        json={
            "cartId": cart["id"],
            "shippingAddress": ADDRESS,
            "phone": "0612345678",
            "paymentMethod": "CREDIT_CARD",
            "paymentToken": "tok_visa",
            "guestEmail": "gus@example.com",
            "guestName": "Gus",
        },
    )

    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["status"], order["totalAmount"], order["customerEmail"]) == (
        "PAID",
        "50.00",
        "gus@example.com",
    )
    assert order["items"][0]["productName"] == "Trail shoe"
    assert await shop.stock(product_id, variant_id) == 8
    assert await _cart_is_empty(shop, cart["id"])  # a 201 means done: the cart is already empty
    looked_up = await shop.http.post(
        "/orders/guest-lookup", json={"orderId": order["id"], "token": order["guest_token"]}
    )
    assert looked_up.json()["id"] == order["id"]
    assert "guest_token" not in looked_up.json() or looked_up.json()["guest_token"] is None


async def _cart_is_empty(shop: Shop, cart_id: str) -> bool:
    items: list[object] = (await shop.http.get(f"/carts/{cart_id}")).json()["items"]
    return items == []


async def test_a_customer_logs_in_merges_the_cart_orders_and_cancels(shop: Shop) -> None:
    product_id, variant_id = await shop.product(stock=5)
    me, _ = await shop.customer()
    guest_cart = (await shop.http.post("/carts")).json()["id"]
    await shop.http.post(f"/carts/{guest_cart}/items", json={"variantId": variant_id, "quantity": 1})
    users_cart = (await shop.http.post("/carts", headers=me)).json()["id"]
    await shop.http.post(
        f"/carts/{users_cart}/items", json={"variantId": variant_id, "quantity": 1}, headers=me
    )

    merged = await shop.http.post("/carts/associate", json={"cartId": guest_cart}, headers=me)
    assert merged.status_code == 200, merged.text
    assert (merged.json()["id"], merged.json()["items"][0]["quantity"]) == (users_cart, 2)

    placed = await shop.http.post(
        "/orders",
        headers=me,
        json={
            "cartId": users_cart,
            "shippingAddress": ADDRESS,
            "phone": "0612345678",
            "paymentMethod": "CASH_ON_DELIVERY",
        },
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "CONFIRMED"
    assert await shop.stock(product_id, variant_id) == 3
    mine = await shop.http.get("/orders/my-orders", headers=me)
    assert [o["id"] for o in mine.json()["data"]] == [order["id"]]

    cancelled = await shop.http.post(f"/orders/{order['id']}/cancel", headers=me)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert await shop.stock(product_id, variant_id) == 5


async def test_insufficient_stock_answers_409_and_leaves_the_stock(shop: Shop) -> None:
    product_id, variant_id = await shop.product(stock=2)
    response = await shop.order(variant_id, quantity=3)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "InsufficientStock"
    assert {"variantId": variant_id, "requested": 3, "available": 2}.items() <= body["details"][0].items()
    assert await shop.stock(product_id, variant_id) == 2


async def test_a_declined_card_answers_402_and_gives_the_stock_back(shop: Shop) -> None:
    product_id, variant_id = await shop.product(stock=4)
    response = await shop.order(
        variant_id, quantity=2, paymentMethod="CREDIT_CARD", paymentToken="tok_declined"
    )
    assert response.status_code == 402, response.text
    assert response.json()["code"] == "PaymentDeclined"
    assert await shop.stock(product_id, variant_id) == 4


async def test_the_same_idempotency_key_returns_the_first_order(shop: Shop) -> None:
    product_id, variant_id = await shop.product(stock=5)
    me, _ = await shop.customer()
    key = {"Idempotency-Key": f"checkout-{uuid.uuid4().hex}"}
    first = await shop.order(variant_id, headers={**me, **key})
    again = await shop.order(variant_id, headers={**me, **key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert await shop.stock(product_id, variant_id) == 4


async def test_thirty_concurrent_orders_for_ten_units_make_exactly_ten_orders(shop: Shop) -> None:
    product_id, variant_id = await shop.product(stock=10)
    responses = await asyncio.gather(*(shop.order(variant_id) for _ in range(30)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [409] * 20, [r.text for r in responses if r.status_code not in (201, 409)]
    assert await shop.stock(product_id, variant_id) == 0
    report = await shop.http.get("/products/stock/reconcile", headers=shop.admin)
    assert report.status_code == 200, report.text
    assert report.json()["mismatches"] == []


async def test_orders_are_private_to_their_customer_and_staff(shop: Shop) -> None:
    _, variant_id = await shop.product()
    ann, _ = await shop.customer()
    bob, _ = await shop.customer()
    order = (await shop.order(variant_id, headers=ann)).json()
    assert (await shop.http.get(f"/orders/{order['id']}", headers=bob)).status_code == 404
    assert (await shop.http.get(f"/orders/{order['id']}")).status_code == 404
    assert (await shop.http.get(f"/orders/{order['id']}", headers=ann)).status_code == 200
    assert (await shop.http.get(f"/orders/{order['id']}", headers=shop.admin)).status_code == 200
    assert (await shop.http.get("/orders", headers=ann)).status_code == 403


async def test_staff_ship_an_order_which_then_cannot_be_cancelled(shop: Shop) -> None:
    _, variant_id = await shop.product()
    me, _ = await shop.customer()
    order = (await shop.order(variant_id, headers=me)).json()
    shipped = await shop.http.put(
        f"/orders/{order['id']}/status", json={"status": "SHIPPED"}, headers=shop.admin
    )
    assert shipped.json()["status"] == "SHIPPED"
    refused = await shop.http.post(f"/orders/{order['id']}/cancel", headers=me)
    assert (refused.status_code, refused.json()["code"]) == (409, "OrderNotCancellable")
    backwards = await shop.http.put(
        f"/orders/{order['id']}/status", json={"status": "PAID"}, headers=shop.admin
    )
    assert backwards.status_code == 400


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [{"variantId": "v", "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"variantId": "v", "quantity": "2"}]}, "items.0.quantity"),
        ({"paymentMethod": "BITCOIN"}, "paymentMethod"),
        (
            {"shippingAddress": {"street": "1 Main St", "city": "Lyon", "country": "FR"}},
            "shippingAddress.postalCode",
        ),
        ({"phone": "call me"}, "phone"),
        ({"guestEmail": "not-an-email"}, "guestEmail"),
        ({"cartId": "not-a-uuid"}, "cartId"),
    ],
)
async def test_bad_orders_answer_400_naming_the_field(
    shop: Shop, change: dict[str, object], field: str
) -> None:
    body = {
        "items": [{"variantId": "v", "quantity": 1}],
        "shippingAddress": ADDRESS,
        "phone": "0612345678",
        "paymentMethod": "CASH_ON_DELIVERY",
        "guestEmail": "g@example.com",
        "guestName": "G",
        **change,
    }
    response = await shop.http.post("/orders", json=body)
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["details"]]


async def test_malformed_json_and_unknown_variants_answer_400(shop: Shop) -> None:
    malformed = await shop.http.post(
        "/orders", content=b'{"items": [', headers={"content-type": "application/json"}
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "MalformedJson")
    unknown = await shop.order("no-such-variant")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "VariantNotFound")


async def test_a_registered_customer_is_named_on_their_orders(shop: Shop) -> None:
    _, variant_id = await shop.product()
    me, email = await shop.customer()
    order_id = (await shop.order(variant_id, headers=me)).json()["id"]

    async def named() -> bool:
        order = (await shop.http.get(f"/orders/{order_id}", headers=me)).json()
        return (order["customerName"], order["customerEmail"]) == ("Carla Customer", email)

    await eventually(named, within=30)  # the USER_CREATED event reached the orders service's copy
