"""Messages handed to an SMTP server with the standard library's client, in a thread (one connection per
message: notifications are few, and a connection kept open would go stale between them).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from kit.mail import message_id


class SmtpMailer:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if self._implicit_tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._starttls = parse_qs(parts.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self._timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        message_id(message)
        await asyncio.to_thread(self._send, message)

    def _connect(self) -> smtplib.SMTP:
        if self._implicit_tls:
            return smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
            )
        client = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        if self._starttls:
            client.starttls(context=ssl.create_default_context())
        return client

    def _send(self, message: EmailMessage) -> None:
        with self._connect() as client:
            if self._user:
                client.login(self._user, self._password or "")
            client.send_message(message)

    async def ping(self) -> None:
        await asyncio.to_thread(self._noop)

    def _noop(self) -> None:
        with self._connect() as client:
            code, _ = client.noop()
            if code != 250:
                raise OSError(f"the SMTP server answered NOOP with {code}")
