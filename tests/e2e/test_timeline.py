"""Through the gateway: the story of a paid, a declined, a cancelled and a compensated order, read by the
order's owner (a customer, or a guest by token) and by staff; `commerce orders explain` prints the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from commerce import cli
from tests.e2e.conftest import ADDRESS, Shop
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


async def story(shop: Shop, order_id: str, until: str = "ended", **request: Any) -> list[dict[str, Any]]:
    """The order's timeline once it holds an entry of kind `until` (a saga's last report precedes its end)."""
    told: dict[str, Any] = {}

    async def ended() -> bool:
        response = await shop.http.get(f"/orders/{order_id}/timeline", **request)
        assert response.status_code == 200, response.text
        told.update(response.json())
        return any(entry["kind"] == until for entry in told["entries"])

    await eventually(ended, within=30, interval=0.2)
    assert told["orderId"] == order_id
    assert told["workflowId"] == f"order-{order_id}"
    return list(told["entries"])


def texts(entries: list[dict[str, Any]], *kinds: str) -> list[str]:
    return [entry["text"] for entry in entries if entry["kind"] in kinds]


async def test_a_paid_order_tells_its_steps_to_its_customer_and_to_staff_only(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=5, price="25.00")
    me, _ = await shop.customer()
    placed = await shop.order(variant_id, 2, headers=me, paymentMethod="CREDIT_CARD", paymentToken="tok_visa")
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]

    entries = await story(shop, order_id, "timer", headers=me)  # waiting for fulfilment
    assert texts(entries, "started") == ["The saga started: 1 line, 50.00 by card"]
    steps = texts(entries, "step")
    assert steps[0] == "Reserved stock for line 1"
    assert steps[1].startswith("Charged the card (transaction ")
    assert "Reported the order PAID to the orders service" in steps
    assert texts(entries, "status") == [
        "Order placed (50.00, by card)",
        "PENDING -> PAID: the order is paid: stock reserved and the card charged",
    ]
    assert {entry["source"] for entry in entries} == {"order", "workflow"}
    assert [entry["at"] for entry in entries] == sorted(entry["at"] for entry in entries)
    assert all(set(entry) == set(entries[0]) for entry in entries)  # camelCase, every field, always
    assert "durationMs" in entries[0]

    assert (await shop.http.get(f"/orders/{order_id}/timeline", headers=shop.admin)).status_code == 200
    other, _ = await shop.customer()
    for caller in (other, {}):
        refused = await shop.http.get(f"/orders/{order_id}/timeline", headers=caller)
        assert (refused.status_code, refused.json()["code"]) == (404, "OrderNotFound")


async def test_a_declined_card_tells_the_refusal_and_every_compensation(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    _, variant_id = await shop.product(stock=5)
    declined = await shop.order(variant_id, 2, paymentMethod="CREDIT_CARD", paymentToken="tok_declined")
    assert declined.status_code == 402, declined.text
    order_id = declined.json()["details"][0]["orderId"]

    entries = await story(shop, order_id, headers=shop.admin)
    assert texts(entries, "failure") == [
        "Charge the card: refused (Card declined [PaymentDeclined]), not retried"
    ]
    assert texts(entries, "compensation") == [
        "Refunded the charge, if any (50.00)",
        "Released 2 x " + variant_id,
    ]
    assert texts(entries, "status")[-1].startswith("PENDING -> FAILED: the order is failed")
    assert texts(entries, "ended") == ["The saga ended: the order is FAILED (Card declined)"]

    await cli.explain_order(shop.settings, order_id)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"Order {order_id}: FAILED (workflow order-{order_id})"
    assert len(printed) == len(entries) + 1
    assert any(" failure      Charge the card: refused (Card declined" in line for line in printed)


async def test_a_cancelled_order_tells_its_guest_the_signal_refund_and_release(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=5)
    placed = await shop.order(variant_id, paymentMethod="CREDIT_CARD", paymentToken="tok_visa")
    assert placed.status_code == 201, placed.text
    order_id, token = placed.json()["id"], placed.json()["guest_token"]
    cancelled = await shop.http.post(f"/orders/{order_id}/cancel", params={"guest_token": token})
    assert cancelled.json()["status"] == "CANCELLED", cancelled.text

    entries = await story(shop, order_id, params={"guest_token": token})
    assert texts(entries, "signal") == [
        "The orders service told the saga the order is now CANCELLING",
        "Cancellation requested: Cancelled by the customer",
    ]
    assert texts(entries, "compensation") == [
        "Refunded the charge, if any (25.00)",
        "Released 1 x " + variant_id,
    ]
    assert [text.split(":")[0] for text in texts(entries, "status")] == [
        "Order placed (25.00, by card)",
        "PENDING -> PAID",
        "PAID -> CANCELLING",
        "CANCELLING -> CANCELLED",
    ]
    assert texts(entries, "ended") == ["The saga ended: the order is CANCELLED (Cancelled by the customer)"]
    assert (await shop.http.get(f"/orders/{order_id}/timeline")).status_code == 404  # no token: no story


async def test_an_order_short_of_stock_tells_which_step_failed_and_what_was_given_back(shop: Shop) -> None:
    _, plenty = await shop.product(stock=5)
    _, scarce = await shop.product(stock=1)
    body = {
        "items": [{"variantId": plenty, "quantity": 2}, {"variantId": scarce, "quantity": 3}],
        "shippingAddress": ADDRESS,
        "phone": "0612345678",
        "paymentMethod": "CASH_ON_DELIVERY",
        "guestEmail": "gus@example.com",
        "guestName": "Gus",
    }
    short = await shop.http.post("/orders", json=body)
    assert (short.status_code, short.json()["code"]) == (409, "InsufficientStock"), short.text
    order_id = next(detail["orderId"] for detail in short.json()["details"] if "orderId" in detail)

    entries = await story(shop, order_id, headers=shop.admin)
    assert texts(entries, "step")[0] == "Reserved stock for line 1"
    [failure] = [entry for entry in entries if entry["kind"] == "failure"]
    assert failure["step"] == "reserve stock"
    assert failure["text"].startswith("Reserve stock: refused (")
    assert "[InsufficientStock]), not retried" in failure["text"]
    assert texts(entries, "compensation") == [f"Released 3 x {scarce}", f"Released 2 x {plenty}"]
    assert texts(entries, "ended")[0].startswith("The saga ended: the order is FAILED (")
