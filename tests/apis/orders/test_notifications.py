"""Notification e-mails from the bus: one mail per fact, whatever is redelivered or republished, in the
customer's language where there is a text for it, escaped in HTML.
"""

from __future__ import annotations

import asyncio
import email
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.orders import mails, notifications
from apis.orders.app import MIGRATIONS
from apis.orders.models import CustomerCopy, Order, SentMail
from contracts.orders import PaymentMethod
from kit import db
from kit.bus import Event, open_bus
from kit.mail import open_mailer
from kit.mail.folder import FolderMailer
from tests.kit.test_mail import Inbox, smtp_server  # noqa: F401 (a fixture)
from tests.support import embedded_settings, eventually


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.open_engine(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    await db.migrate(engine, MIGRATIONS)
    yield db.session_factory(engine)
    await engine.dispose()


@pytest.fixture
def notifier(tmp_path: Path, sessions: async_sessionmaker[AsyncSession]) -> notifications.Notifier:
    settings = embedded_settings(tmp_path, mail_from="Shop <shop@shop.test>", shop_url="http://shop.test/")
    return notifications.Notifier(sessions, open_mailer(settings.mail_url), settings)


def mailbox(tmp_path: Path) -> list[EmailMessage]:
    found = []
    for path in sorted((tmp_path / "mail").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content())


def user_created(user_id: str = "u1", name: str = "Ada", **extra: object) -> Event:
    payload = {"id": user_id, "name": name, "email": "ada@example.com", **extra}
    return Event(
        type="USER_CREATED", payload=payload, source_service="auth", topic="auth_events", key=user_id
    )


def order_event(kind: str, order_id: str = "0123456789abcdef", **fields: object) -> Event:
    order = {
        "id": order_id,
        "userId": None,
        "guestEmail": "grace@example.com",
        "customerName": "Grace",
        "customerEmail": "grace@example.com",
        "status": "PAID",
        "totalAmount": "25.00",
        "displayCurrency": "EUR",
        "displayTotalAmount": "23.00",
        "items": [{"productName": "Lamp", "sku": "L-1", "quantity": 2}],
        **fields,
    }
    return Event(type=kind, payload=order, source_service="orders", topic="order_events", key=order_id)


async def test_a_welcome_is_sent_once_when_user_created_comes_twice_or_is_republished(
    tmp_path: Path, notifier: notifications.Notifier
) -> None:
    created = user_created()
    await notifier.handle(created)
    await notifier.handle(created)  # redelivered: same id
    await notifier.handle(user_created())  # the same fact published again under a new event id
    [welcome] = mailbox(tmp_path)
    assert welcome["To"] == "ada@example.com"
    assert welcome["Message-ID"] == "<welcome.u1@shop.test>"
    assert welcome["Subject"] == "Welcome to the shop, Ada!"
    assert "http://shop.test/account" in text_of(welcome)


async def test_each_order_fact_is_one_mail_to_the_guest_with_the_order_in_it(
    tmp_path: Path, notifier: notifications.Notifier
) -> None:
    for kind in ("ORDER_CREATED", "ORDER_CREATED", "ORDER_SHIPPED", "ORDER_SHIPPED", "ORDER_DELIVERED"):
        await notifier.handle(order_event(kind))
    placed, shipped = sorted(mailbox(tmp_path), key=lambda m: str(m["Message-ID"]))
    assert placed["Subject"] == "Your order #01234567 is confirmed"
    assert "2 x Lamp" in text_of(placed)
    assert "23.00 EUR" in text_of(placed)
    assert "http://shop.test/track-order?orderId=0123456789abcdef" in text_of(placed)
    assert shipped["Subject"] == "Your order #01234567 has shipped"
    assert {placed["To"], shipped["To"]} == {"grace@example.com"}


async def test_a_customer_without_an_address_on_the_event_is_found_by_their_copy(
    tmp_path: Path, notifier: notifications.Notifier, sessions: async_sessionmaker[AsyncSession]
) -> None:
    event = order_event("ORDER_CANCELLED", userId="u9", customerEmail=None, guestEmail=None)
    with pytest.raises(notifications.NoRecipient):  # not copied yet: the bus retries it
        await notifier.handle(event)
    async with sessions() as session, session.begin():
        session.add(CustomerCopy(id="u9", name="Ann", email="ann@example.com"))
    await notifier.handle(event)
    [cancelled] = mailbox(tmp_path)
    assert cancelled["To"] == "ann@example.com"
    assert "http://shop.test/account/orders" in text_of(cancelled)


async def test_the_mail_is_in_the_customers_language_else_in_english(
    tmp_path: Path, notifier: notifications.Notifier
) -> None:
    await notifier.handle(user_created("u1", language="fr-FR,fr;q=0.9"))
    await notifier.handle(user_created("u2", language="ar"))
    await notifier.handle(user_created("u3", language="de"))
    await notifier.handle(
        order_event("RETURN_REQUEST_APPROVED", order_id="r1", orderId="0123456789", language="fr")
    )
    by_id = {str(message["Message-ID"]): message for message in mailbox(tmp_path)}
    assert by_id["<welcome.u1@shop.test>"]["Subject"] == "Bienvenue dans la boutique, Ada !"
    assert by_id["<welcome.u2@shop.test>"]["Content-Language"] == "ar"
    assert 'dir="rtl"' in text_of(by_id["<welcome.u2@shop.test>"], "html")
    assert by_id["<welcome.u3@shop.test>"]["Subject"] == "Welcome to the shop, Ada!"
    returned = by_id["<return-approved.r1@shop.test>"]
    assert (returned["Subject"], returned["Content-Language"]) == (
        "Votre retour pour la commande n°01234567 est accepté",  # its order's number, not the return's
        "fr",
    )


def test_every_mail_has_its_english_french_and_arabic_texts() -> None:
    assert {kind: sorted(by_language) for kind, by_language in mails.TEXTS.items()} == {
        kind: ["ar", "en", "fr"] for kind in mails.TEXTS
    }


async def test_a_staff_comment_is_mailed_once_per_comment_and_a_customers_not_at_all(
    tmp_path: Path, notifier: notifications.Notifier
) -> None:
    def commented(comment_id: str, role: str) -> Any:
        said = {"id": comment_id, "role": role, "commentText": "Is the box damaged?", "imageUrl": None}
        return order_event("RETURN_REQUEST_COMMENT_ADDED", order_id="r1", orderId="0123456789", comment=said)

    await notifier.handle(commented("c1", "staff"))
    await notifier.handle(commented("c1", "staff"))  # redelivered
    await notifier.handle(commented("c2", "customer"))
    await notifier.handle(commented("c3", "staff"))
    by_id = {str(message["Message-ID"]): message for message in mailbox(tmp_path)}
    assert sorted(by_id) == ["<return-comment.c1@shop.test>", "<return-comment.c3@shop.test>"]
    assert "Is the box damaged?" in text_of(by_id["<return-comment.c1@shop.test>"])
    assert "/track-order?orderId=0123456789&returnFocus=true" in text_of(
        by_id["<return-comment.c1@shop.test>"]
    )


async def test_an_event_older_than_the_mail_max_age_sends_nothing(
    tmp_path: Path, notifier: notifications.Notifier
) -> None:
    old = user_created().model_copy(update={"timestamp": datetime.now(UTC) - timedelta(days=3)})
    await notifier.handle(old)  # a new consumer group reading auth_events from the beginning
    assert mailbox(tmp_path) == []


async def test_names_are_escaped_in_the_html(tmp_path: Path, notifier: notifications.Notifier) -> None:
    await notifier.handle(user_created(name="<script>alert(1)</script>"))
    [welcome] = mailbox(tmp_path)
    html = text_of(welcome, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


async def test_a_mail_the_mailer_refused_is_sent_on_the_next_delivery_and_then_never_again(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = embedded_settings(tmp_path)
    folder = open_mailer(settings.mail_url)
    assert isinstance(folder, FolderMailer)

    class Flaky:
        refusals = 1

        async def send(self, message: EmailMessage) -> None:
            if self.refusals:
                self.refusals -= 1
                raise ConnectionRefusedError("the SMTP server is restarting")
            await folder.send(message)

        async def ping(self) -> None:
            return None

    notifier = notifications.Notifier(sessions, Flaky(), settings)
    event = user_created()
    with pytest.raises(ConnectionRefusedError):
        await notifier.handle(event)
    assert mailbox(tmp_path) == []
    await notifier.handle(event)
    await notifier.handle(event)
    assert len(mailbox(tmp_path)) == 1
    async with sessions() as session:
        [record] = (await session.scalars(sa.select(SentMail))).all()
    assert (record.attempts, record.sent_at is not None, record.recipient) == (2, True, "ada@example.com")


async def test_events_delivered_twice_on_the_bus_reach_the_smtp_server_once(
    tmp_path: Path,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: tuple[str, Inbox],  # noqa: F811
) -> None:
    url, inbox = smtp_server
    settings = embedded_settings(tmp_path, mail_url=url)
    async with open_bus(f"memory://{uuid.uuid4().hex}") as bus:
        notifications.subscribe(bus, notifications.Notifier(sessions, open_mailer(url), settings))
        created, placed = user_created(), order_event("ORDER_CREATED")
        for event in (created, placed, created, placed, user_created(), order_event("ORDER_CREATED")):
            await bus.publish(event)
        await eventually(lambda: len(inbox.received) >= 2)
        await asyncio.sleep(0.3)  # time for any repeat to arrive
    assert sorted(str(message["Message-ID"]) for message in inbox.received) == [
        "<order-placed.0123456789abcdef@commerce.local>",
        "<welcome.u1@commerce.local>",
    ]


async def test_an_order_mail_is_in_the_customers_language_as_their_copy_has_it(
    tmp_path: Path, notifier: notifications.Notifier, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shipped = order_event("ORDER_SHIPPED", userId="u7", customerEmail="ann@example.com")
    with pytest.raises(notifications.NoRecipient):  # their language unknown until copied: retried
        await notifier.handle(shipped)
    async with sessions() as session, session.begin():
        session.add(CustomerCopy(id="u7", name="Ann", email="ann@example.com", language="fr"))
    await notifier.handle(shipped)
    await notifier.handle(shipped)  # redelivered: once
    [mail] = mailbox(tmp_path)
    assert (mail["Subject"], mail["Content-Language"]) == ("Votre commande n°01234567 est expédiée", "fr")


async def test_a_guests_mail_is_in_the_language_their_order_was_placed_in(
    tmp_path: Path, notifier: notifications.Notifier, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order = Order(
        phone="0612345678",
        guest_email="grace@example.com",
        payment_method=PaymentMethod.CASH_ON_DELIVERY,
        shipping_address={"city": "Lyon"},
        total_amount=Decimal("25.00"),
        display_total_amount=Decimal("25.00"),
        language="ar",
        idempotency_key=str(uuid.uuid4()),
    )
    async with sessions() as session, session.begin():
        session.add(order)
    await notifier.handle(order_event("ORDER_CANCELLED", order_id=order.id))
    await notifier.handle(order_event("RETURN_REQUEST_CREATED", order_id="r-1", orderId=order.id))
    assert [m["Content-Language"] for m in mailbox(tmp_path)] == ["ar", "ar"]


async def test_a_customer_never_copied_is_mailed_in_the_orders_language_after_the_wait(
    tmp_path: Path, notifier: notifications.Notifier
) -> None:
    late = order_event("ORDER_SHIPPED", userId="u8", customerEmail="ann@example.com", language="fr")
    late = late.model_copy(update={"timestamp": datetime.now(UTC) - notifications.COPY_WAIT})
    await notifier.handle(late)  # waited for long enough: not parked on the dead-letter topic
    [mail] = mailbox(tmp_path)
    assert mail["Content-Language"] == "fr"
