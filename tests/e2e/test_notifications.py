"""Through the gateway, on the embedded platform and on the real servers (PostgreSQL, Elasticsearch): each
notification lands once in the mail folder.
"""

from __future__ import annotations

import asyncio
import email
import uuid
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ADDRESS, EMBEDDED_AND_REAL, Shop
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), EMBEDDED_AND_REAL]


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


async def test_a_french_customer_is_mailed_in_french_once_then_in_the_language_they_choose(
    shop: Shop,
) -> None:
    _, variant_id = await shop.product(stock=5)
    address = f"amelie-{uuid.uuid4().hex[:8]}@example.com"
    body = {"name": "Amélie", "email": address, "password": "correct horse battery"}
    registered = await shop.http.post(
        "/auth/register", json=body, headers={"Accept-Language": "fr-FR,fr;q=0.9"}
    )
    assert registered.status_code == 201, registered.text
    me = {"Authorization": f"Bearer {registered.json()['token']}"}
    placed = (await shop.order(variant_id, headers=me)).json()  # no Accept-Language: theirs is kept
    placed_subject = f"Votre commande n°{placed['id'][:8]} est confirmée"
    await eventually(lambda: placed_subject in subjects(shop, address), within=30)
    await asyncio.sleep(1)  # a repeat would land meanwhile
    assert subjects(shop, address) == sorted(["Bienvenue dans la boutique, Amélie !", placed_subject])
    assert {str(m["Content-Language"]) for m in mails_to(shop, address)} == {"fr"}

    user_id = (await shop.http.get("/auth/me", headers=me)).json()["id"]
    changed = await shop.http.put(f"/auth/users/{user_id}", json={"language": "ar"}, headers=me)
    assert (changed.status_code, changed.json()["language"]) == (200, "ar")
    ship = await shop.http.put(
        f"/orders/{placed['id']}/status", json={"status": "SHIPPED"}, headers=shop.admin
    )
    assert ship.status_code == 200, ship.text
    shipped_subject = f"تم شحن طلبك رقم {placed['id'][:8]}"
    await eventually(lambda: shipped_subject in subjects(shop, address), within=30)


async def test_a_guests_mail_is_in_the_language_they_ordered_in(shop: Shop) -> None:
    _, variant_id = await shop.product()
    guest = f"gus-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "items": [{"variantId": variant_id, "quantity": 1}],
        "shippingAddress": ADDRESS,
        "phone": "+33 6 12 34 56 78",
        "paymentMethod": "CASH_ON_DELIVERY",
        "guestEmail": guest,
        "guestName": "Gus",
    }
    placed = await shop.http.post("/orders", json=body, headers={"Accept-Language": "fr"})
    assert placed.status_code == 201, placed.text
    await eventually(lambda: len(mails_to(shop, guest)) == 1, within=30)
    [mail] = mails_to(shop, guest)
    assert (str(mail["Subject"]), str(mail["Content-Language"])) == (
        f"Votre commande n°{placed.json()['id'][:8]} est confirmée",
        "fr",
    )
