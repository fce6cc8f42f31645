"""Through the gateway, on the embedded platform and on the real servers (PostgreSQL, Elasticsearch): a
delivered card order is returned in part, approved and completed twice, and its units are restocked once
(one `RETURN_RESTOCK` movement in the ledger), its returned amount refunded once (one refund in its
workflow's history, one workflow run), and each return mail lands once. A guest returns with its token.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.e2e.conftest import EMBEDDED_AND_REAL, Shop
from tests.e2e.test_notifications import mails_to
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), EMBEDDED_AND_REAL]


async def delivered(shop: Shop, variant_id: str, quantity: int, **fields: Any) -> dict[str, Any]:
    """An order of `quantity` units, shipped and delivered by the staff."""
    placed = await shop.order(variant_id, quantity=quantity, **fields)
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    for status in ("SHIPPED", "DELIVERED"):
        moved = await shop.http.put(
            f"/orders/{order['id']}/status", json={"status": status}, headers=shop.admin
        )
        assert moved.status_code == 200, moved.text
    return order


async def activities_completed(temporal: Client, workflow_id: str) -> list[str]:
    """The activities the workflow completed, by name, in its (only) run's history."""
    scheduled: dict[int, str] = {}
    done = []
    async for event in temporal.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done.append(scheduled[event.activity_task_completed_event_attributes.scheduled_event_id])
    return done


def return_mails(shop: Shop, address: str, return_id: str) -> list[str]:
    """The kinds of the return's mails to `address`, by their Message-ID (`<kind.<return id>@...>`)."""
    found = [str(m["Message-ID"]).strip().strip("<>").partition("@")[0] for m in mails_to(shop, address)]
    return sorted(kind for kind, _, subject in (f.partition(".") for f in found) if subject == return_id)


async def test_a_delivered_order_is_returned_restocked_once_and_refunded_once(shop: Shop) -> None:
    product_id, variant_id = await shop.product(stock=5, price="25.00")
    me, address = await shop.customer()
    order = await delivered(
        shop, variant_id, 3, headers=me, paymentMethod="CREDIT_CARD", paymentToken="tok_visa"
    )
    line = order["items"][0]["id"]
    body = {"orderId": order["id"], "reason": "Too small", "items": [{"orderItemId": line, "quantity": 2}]}

    asked = await shop.http.post("/orders/returns", json=body, headers={**me, "Idempotency-Key": "ret-1"})
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["status"], request["orderId"], request["customerEmail"]) == (
        "PENDING_APPROVAL",
        order["id"],
        address,
    )
    assert request["refundAmount"] == "50.00"  # the two returned units, not the order's 75.00
    again = await shop.http.post("/orders/returns", json=body, headers={**me, "Idempotency-Key": "ret-1"})
    assert (again.status_code, again.json()["id"]) == (200, request["id"])
    too_many = await shop.http.post("/orders/returns", json=body, headers=me)
    assert too_many.status_code == 400, too_many.text
    assert too_many.json()["code"] == "InvalidReturnItem"
    other, _ = await shop.customer()
    assert (await shop.http.post("/orders/returns", json=body, headers=other)).status_code == 404
    assert (await shop.http.get(f"/orders/returns/{request['id']}", headers=other)).status_code == 404
    assert (await shop.http.get(f"/orders/returns/{request['id']}")).status_code == 404

    path = f"/orders/admin/returns/{request['id']}"
    early = await shop.http.put(path, json={"status": "COMPLETED"}, headers=shop.admin)
    assert early.status_code == 409, early.text
    approved = await shop.http.put(
        path, json={"status": "APPROVED", "adminComments": "OK"}, headers=shop.admin
    )
    assert approved.status_code == 200, approved.text
    completions = await asyncio.gather(
        *(shop.http.put(path, json={"status": "COMPLETED"}, headers=shop.admin) for _ in range(2))
    )
    assert [c.status_code for c in completions] == [200, 200], [c.text for c in completions]
    again_completed = await shop.http.put(path, json={"status": "COMPLETED"}, headers=shop.admin)
    assert again_completed.status_code == 200, again_completed.text

    async def settled() -> bool:
        answer = await shop.http.get(f"/orders/returns/{request['id']}", headers=me)
        return answer.json()["settledAt"] is not None

    await eventually(settled, within=60)
    final = (await shop.http.get(f"/orders/returns/{request['id']}", headers=me)).json()
    assert (final["status"], final["restockedUnits"], final["refundedAmount"]) == ("COMPLETED", 2, "50.00")
    assert final["refundId"]

    history = await shop.http.get(f"/products/stock/history/{variant_id}?limit=100", headers=shop.admin)
    restocks = [m for m in history.json() if m["type"] == "RETURN_RESTOCK"]
    assert [(m["changeQuantity"], m["relatedOrderId"]) for m in restocks] == [(2, order["id"])]
    assert await shop.stock(product_id, variant_id) == 5 - 3 + 2
    temporal = await Client.connect(shop.settings.temporal_address)
    workflow_id = f"return-{request['id']}"
    assert (await activities_completed(temporal, workflow_id)).count("refund_return") == 1
    runs = [run async for run in temporal.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1

    listed = await shop.http.get("/orders/admin/returns", params={"search": order["id"]}, headers=shop.admin)
    assert [r["id"] for r in listed.json()["data"]] == [request["id"]]
    mine = await shop.http.get("/orders/my-returns", headers=me)
    assert [r["id"] for r in mine.json()["data"]] == [request["id"]]

    expected = ["return-approved", "return-completed", "return-requested"]
    await eventually(lambda: return_mails(shop, address, request["id"]) == expected, within=30)
    await asyncio.sleep(1)  # any repeat would land meanwhile
    assert return_mails(shop, address, request["id"]) == expected


async def test_a_guest_returns_a_delivered_order_with_its_token(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=2)
    order = await delivered(shop, variant_id, 1)
    body = {
        "orderId": order["id"],
        "reason": "Broken",
        "items": [{"orderItemId": order["items"][0]["id"], "quantity": 1}],
    }
    assert (await shop.http.post("/orders/returns", json=body)).status_code == 401
    asked = await shop.http.post("/orders/returns", json=body, params={"guest_token": order["guest_token"]})
    assert asked.status_code == 201, asked.text
    assert asked.json()["refundAmount"] is None  # cash on delivery: nothing to refund
    read = await shop.http.get(
        f"/orders/returns/{asked.json()['id']}", params={"guest_token": order["guest_token"]}
    )
    assert read.status_code == 200, read.text


async def test_an_order_not_delivered_is_not_returnable(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=2)
    me, _ = await shop.customer()
    placed = (await shop.order(variant_id, headers=me)).json()
    body = {
        "orderId": placed["id"],
        "reason": "No",
        "items": [{"orderItemId": placed["items"][0]["id"], "quantity": 1}],
    }
    refused = await shop.http.post("/orders/returns", json=body, headers=me)
    assert refused.status_code == 409, refused.text
    assert refused.json()["message"] == "Order status 'CONFIRMED' is not returnable."


async def test_staff_and_the_customer_talk_about_a_return_and_the_staff_comment_is_mailed_once(
    shop: Shop,
) -> None:
    _, variant_id = await shop.product(stock=2)
    me, address = await shop.customer()
    order = await delivered(shop, variant_id, 1, headers=me)
    body = {
        "orderId": order["id"],
        "reason": "Scratched",
        "items": [{"orderItemId": order["items"][0]["id"], "quantity": 1}],
    }
    request = (await shop.http.post("/orders/returns", json=body, headers=me)).json()
    path = f"/orders/returns/{request['id']}/comments"

    empty = await shop.http.post(path, json={}, headers=shop.admin)
    assert empty.status_code == 400, empty.text
    assert "commentText" in empty.json()["message"]
    other, _ = await shop.customer()
    assert (await shop.http.post(path, json={"commentText": "Hi"}, headers=other)).status_code == 404
    assert (await shop.http.post(path, json={"commentText": "Hi"})).status_code == 404

    question = {"commentText": "Could you send a photo of the scratch?"}
    keyed = {**shop.admin, "Idempotency-Key": "comment-1"}
    asked = await shop.http.post(path, json=question, headers=keyed)
    assert asked.status_code == 201, asked.text
    assert asked.json()["role"] == "staff"
    retried = await shop.http.post(path, json=question, headers=keyed)
    assert (retried.status_code, retried.json()["id"]) == (200, asked.json()["id"])
    waiting = (await shop.http.get(f"/orders/returns/{request['id']}", headers=me)).json()
    assert waiting["status"] == "AWAITING_CUSTOMER_RESPONSE"

    answer = {"commentText": "Here it is", "imageUrl": "/images/0123456789abcdef0123456789abcdef.jpg"}
    replied = await shop.http.post(path, json=answer, headers=me)
    assert replied.status_code == 201, replied.text
    assert (replied.json()["role"], replied.json()["authorName"]) == ("customer", "Carla Customer")
    shown = (await shop.http.get(f"/orders/{order['id']}", headers=me)).json()
    [embedded] = shown["returnRequests"]
    assert embedded["status"] == "PENDING_APPROVAL"
    assert [c["commentText"] for c in embedded["comments"]] == [question["commentText"], "Here it is"]
    approved = await shop.http.put(
        f"/orders/admin/returns/{request['id']}", json={"status": "APPROVED"}, headers=shop.admin
    )
    assert approved.status_code == 200, approved.text

    def comment_mails() -> list[str]:
        ids = [str(m["Message-ID"]).strip().strip("<>").partition("@")[0] for m in mails_to(shop, address)]
        return [i for i in ids if i.startswith("return-comment.")]

    expected = [f"return-comment.{asked.json()['id']}"]  # the staff comment's, not the customer's reply
    await eventually(lambda: comment_mails() == expected, within=30)
    await asyncio.sleep(1)  # the customer's reply mails nobody; a repeat would land meanwhile
    assert len(comment_mails()) == 1
