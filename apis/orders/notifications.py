"""Notification e-mails, sent by the orders service's `notifications` consumer of `auth_events` (a welcome
on USER_CREATED) and `order_events` (placed, shipped, cancelled, the return updates, staff's comments on a
return). The orders service
holds what a mail needs: the orders, and the customers' copies for an order whose event carries no address.

Once per fact: a mail's Message-ID comes from what it tells (`<order-shipped.<order id>@domain>`), not from
the event, so a redelivered event and the same fact republished under a new event id are one mail. SMTP is
not transactional, so a mail is claimed (a `sent_mails` row) before it is handed over and marked sent after;
a redelivery skips a sent one. A crash between the handing over and the mark sends it again on redelivery,
with the same Message-ID: the folder mailbox keeps one file, and an SMTP receiver can drop the repeat
(at least once to the server, once per Message-ID).

A consumer group new to the bus reads the topics from their beginning; so that it does not mail every
customer about every past order (the seed's would), an event older than `mail_max_age` sends nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.orders import mails
from apis.orders.models import CustomerCopy, Order, SentMail
from contracts import auth
from contracts import orders as contract
from kit.bus import Event, EventBus
from kit.db import now
from kit.localisation import LANGUAGES, preferred_language
from kit.mail import Mailer
from kit.settings import Settings

log = logging.getLogger(__name__)

GROUP = "notifications"
KINDS: dict[str, str] = {
    auth.USER_CREATED: mails.WELCOME,
    contract.ORDER_CREATED: mails.ORDER_PLACED,
    contract.ORDER_SHIPPED: mails.ORDER_SHIPPED,
    contract.ORDER_CANCELLED: mails.ORDER_CANCELLED,
    contract.RETURN_REQUEST_CREATED: mails.RETURN_REQUESTED,
    contract.RETURN_REQUEST_APPROVED: mails.RETURN_APPROVED,
    contract.RETURN_REQUEST_REJECTED: mails.RETURN_REJECTED,
    contract.RETURN_REQUEST_COMPLETED: mails.RETURN_COMPLETED,
    contract.RETURN_REQUEST_COMMENT_ADDED: mails.RETURN_COMMENT,
}
_PLAIN = re.compile(r"[^A-Za-z0-9._+-]")
# How long a mail waits for its customer's copy (their language) before it goes in the order's language;
# the bus retries a failing event for about 80 s before parking it.
COPY_WAIT = timedelta(seconds=30)


class NoRecipient(LookupError):
    """An order event whose customer has no known address or language yet (their user event not copied
    yet): retried.
    """


class Notifier:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], mailer: Mailer, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._mailer = mailer
        self._sender = settings.mail_from
        self._shop = settings.shop_url.rstrip("/")
        self._domain = parseaddr(settings.mail_from)[1].partition("@")[2] or "commerce.local"
        self._max_age = timedelta(seconds=settings.mail_max_age)

    async def handle(self, event: Event) -> None:
        """The bus handler: the event's mail, sent unless it was already."""
        kind = KINDS.get(event.type)
        if kind is None:
            return
        if datetime.now(UTC) - event.timestamp > self._max_age:
            log.info("mail too late, not sent", extra={"kind": kind, "eventId": event.id})
            return
        if kind == mails.RETURN_COMMENT and not _by_staff(event.payload):
            return  # the customer's own words: nobody to tell
        mail = await self._mail_for(kind, event)
        if not await self._claim(mail, event.id):
            return
        await self._mailer.send(mails.render(mail, sender=self._sender))
        async with self._sessions() as session, session.begin():
            claimed = await session.get(SentMail, mail.message_id)
            if claimed is not None:
                claimed.sent_at = now()
        log.info("mail sent", extra={"kind": kind, "messageId": mail.message_id, "eventId": event.id})

    def message_id(self, kind: str, subject_id: str) -> str:
        return f"<{kind}.{_PLAIN.sub('-', subject_id)[:200]}@{self._domain}>"

    async def _mail_for(self, kind: str, event: Event) -> mails.Mail:
        payload = event.payload
        if kind == mails.WELCOME:
            language = _language(payload.get("language"))
            user_id = str(payload.get("id") or event.key)
            facts = {"name": str(payload.get("name") or ""), "link": f"{self._shop}/account"}
            return mails.Mail(
                kind, self.message_id(kind, user_id), _address(payload.get("email")), language, facts
            )
        order = payload.get("order") if isinstance(payload.get("order"), dict) else payload
        assert isinstance(order, dict)
        subject_id = str(payload.get("id") or event.key)
        if kind == mails.RETURN_COMMENT:  # one mail per comment, however many on the return
            subject_id = str(payload["comment"]["id"])
        link = (
            f"{self._shop}/account/orders"
            if order.get("userId")
            else f"{self._shop}/track-order?orderId={order.get('orderId') or order.get('id') or event.key}"
        )
        if kind == mails.RETURN_COMMENT and not order.get("userId"):
            link += "&returnFocus=true"  # the storefront opens the guest's order at its return (the seed's)
        recipient = payload.get("customerEmail") or order.get("customerEmail") or order.get("guestEmail")
        if not recipient:
            recipient = await self._customer_email(order.get("userId"))
        language = await self._customer_language(order, payload.get("language"), event.timestamp)
        return mails.Mail(
            kind,
            self.message_id(kind, subject_id),
            _address(recipient),
            language,
            mails.order_facts(order, link),
        )

    async def _customer_email(self, user_id: Any) -> str:
        if user_id:
            async with self._sessions() as session:
                customer = await session.get(CustomerCopy, str(user_id))
            if customer is not None and customer.email:
                return customer.email
        raise NoRecipient(f"no e-mail address known for customer {user_id!r}")

    async def _customer_language(self, order: dict[str, Any], told: Any, at: datetime) -> str:
        """A registered customer's language as their copy has it now (a copy not made yet is waited for,
        retried, for `COPY_WAIT` after the event); a guest's, a customer's copied before users had one or
        never copied: the order's Accept-Language, else the event's `language` (`told`).
        """
        user_id, order_id = order.get("userId"), order.get("orderId") or order.get("id")
        async with self._sessions() as session:
            if user_id:
                customer = await session.get(CustomerCopy, str(user_id))
                if customer is None and datetime.now(UTC) - at < COPY_WAIT:
                    raise NoRecipient(f"customer {user_id!r} not copied yet: their language is unknown")
                if customer is not None and customer.language:
                    return _language(customer.language)
            placed = await session.get(Order, str(order_id)) if order_id else None
        return _language((placed.language if placed is not None else None) or told)

    async def _claim(self, mail: mails.Mail, event_id: str) -> bool:
        """Record the mail as being sent (another try, if it was claimed before); False if it was sent."""
        try:
            async with self._sessions() as session, session.begin():
                claimed = await session.get(SentMail, mail.message_id)
                if claimed is None:
                    session.add(
                        SentMail(
                            message_id=mail.message_id,
                            kind=mail.kind,
                            recipient=mail.to,
                            event_id=event_id,
                            attempts=1,
                        )
                    )
                    return True
                if claimed.sent_at is not None:
                    return False
                claimed.attempts += 1
                claimed.claimed_at = now()
                return True
        except sa_exc.IntegrityError:  # claimed at this very moment by another consumer: it sends
            return False


def _by_staff(payload: dict[str, Any]) -> bool:
    comment = payload.get("comment")
    return isinstance(comment, dict) and comment.get("role") == contract.CommentRole.STAFF


def _address(value: Any) -> str:
    address = parseaddr(str(value or ""))[1]
    if "@" not in address:
        raise ValueError(f"not an e-mail address: {value!r}")
    return address


def _language(value: Any) -> str:
    """The customer's language where the event tells it (an `Accept-Language`-like value), else English."""
    language = preferred_language(str(value)) if value else "en"
    return language if language in LANGUAGES else "en"


def subscribe(bus: EventBus, notifier: Notifier) -> None:
    bus.subscribe(GROUP, [auth.AUTH_EVENTS, contract.ORDER_EVENTS], notifier.handle)
