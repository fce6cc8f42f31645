"""Through the gateway on the embedded platform: each notification lands once in the mail folder."""

from __future__ import annotations

import asyncio
import email
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Shop
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


def mails_to(shop: Shop, address: str) -> list[EmailMessage]:
    """The messages to `address` in the platform's mail folder, by Message-ID."""
    found = []
    for path in sorted(Path(urlsplit(shop.settings.mail_url).path).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        if message["To"] == address:
            found.append(message)
    return found


def subjects(shop: Shop, address: str) -> list[str]:
    return sorted(str(message["Subject"]) for message in mails_to(shop, address))


async def test_registration_placing_shipping_and_cancelling_each_mail_the_customer_once(shop: Shop) -> None:
    _, variant_id = await shop.product(stock=5)
    me, address = await shop.customer()
    await eventually(lambda: subjects(shop, address) == ["Welcome to the shop, Carla Customer!"], within=30)

    shipped = (await shop.order(variant_id, headers=me)).json()
    cancelled = (await shop.order(variant_id, headers=me, phone="0699999999")).json()
    assert shipped["status"] == cancelled["status"] == "CONFIRMED", (shipped, cancelled)
    ship = await shop.http.put(
        f"/orders/{shipped['id']}/status", json={"status": "SHIPPED"}, headers=shop.admin
    )
    assert ship.status_code == 200, ship.text
    cancel = await shop.http.post(f"/orders/{cancelled['id']}/cancel", headers=me)
    assert cancel.json()["status"] == "CANCELLED", cancel.text

    expected = sorted(
        [
            "Welcome to the shop, Carla Customer!",
            f"Your order #{shipped['id'][:8]} is confirmed",
            f"Your order #{shipped['id'][:8]} has shipped",
            f"Your order #{cancelled['id'][:8]} is confirmed",
            f"Your order #{cancelled['id'][:8]} has been cancelled",
        ]
    )
    await eventually(lambda: subjects(shop, address) == expected, within=30)
    await asyncio.sleep(1)  # any repeat would land meanwhile
    assert subjects(shop, address) == expected


async def test_a_guest_is_mailed_their_order_with_a_link_to_follow_it(shop: Shop) -> None:
    _, variant_id = await shop.product()
    placed = await shop.order(variant_id, guestEmail="gus-mail@example.com")
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    await eventually(lambda: len(mails_to(shop, "gus-mail@example.com")) == 1, within=30)
    [mail] = mails_to(shop, "gus-mail@example.com")
    body = mail.get_body(("plain",))
    assert body is not None
    assert f"/track-order?orderId={order_id}" in body.get_content()
