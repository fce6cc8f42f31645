"""The mail port: hand a message to whoever delivers it, chosen by `COMMERCE_MAIL_URL`.

`folder:///path` (the embedded default, under the data folder) writes each message as one `.eml` file named
by its Message-ID; `smtp://[user:password@]host:port` (`?starttls=true`) and `smtps://...` give it to an SMTP
server. Every message carries a Message-ID fixed by its sender, so handing the same message over twice is
recognisable: the folder keeps one file, and SMTP receivers can drop the repeat.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

_MESSAGE_ID = re.compile(r"^<[A-Za-z0-9._+-]{1,200}@[A-Za-z0-9.-]{1,100}>$")


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Return once the message is accepted for delivery (raise otherwise); it has a Message-ID."""

    async def ping(self) -> None:
        """Raise if messages cannot be handed over now (readiness)."""


def message_id(message: EmailMessage) -> str:
    """The message's Message-ID, which every message sent through the port must have, in the form
    `<local@domain>` with plain characters (it names the message's file in a folder).
    """
    value = str(message.get("Message-ID", "")).strip()
    if not _MESSAGE_ID.match(value):
        raise ValueError(f"a message needs a plain Message-ID like <x@y>, not {value!r}")
    return value


def open_mailer(url: str, *, timeout: float = 10.0) -> Mailer:
    """The adapter for `url`: `folder:///path` or a path, `smtp://host:port`, `smtps://host:port`."""
    parts = urlsplit(url)
    if parts.scheme in ("", "folder", "file"):
        from kit.mail.folder import FolderMailer

        return FolderMailer(Path(unquote(parts.path) if parts.scheme else url))
    if parts.scheme in ("smtp", "smtps"):
        from kit.mail.smtp import SmtpMailer

        return SmtpMailer(url, timeout=timeout)
    raise ValueError(f"unsupported MAIL_URL scheme {parts.scheme!r}")
