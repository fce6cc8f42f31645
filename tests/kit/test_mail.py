"""The mail port: the folder mailbox and SMTP (against an in-process aiosmtpd server) take the same message
alike, and the folder keeps one file for a message handed over twice.
"""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from kit.mail import open_mailer
from kit.mail.folder import FolderMailer
from tests.support import free_port


def a_message(message_id: str = "<welcome.u1@shop.test>") -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = message_id
    message["From"] = "Shop <shop@shop.test>"
    message["To"] = "ada@example.com"
    message["Subject"] = "Bienvenue, Ada !"
    message.set_content("Bonjour Ada,\n")
    message.add_alternative("<p>Bonjour Ada,</p>", subtype="html")
    return message


class Inbox(MessageHandler):
    """What the SMTP server received."""

    def __init__(self) -> None:
        super().__init__(email.message.Message)
        self.received: list[email.message.Message] = []

    def handle_message(self, message: email.message.Message) -> None:
        self.received.append(message)


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[str, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


async def test_the_folder_writes_one_eml_file_per_message_id(tmp_path: Path) -> None:
    mailer = open_mailer(f"folder://{tmp_path}/mail")
    assert isinstance(mailer, FolderMailer)
    await mailer.ping()
    await mailer.send(a_message())
    await mailer.send(a_message())  # handed over twice: still one message
    await mailer.send(a_message("<order-placed.o1@shop.test>"))
    files = sorted(path.name for path in (tmp_path / "mail").glob("*.eml"))
    assert files == ["order-placed.o1@shop.test.eml", "welcome.u1@shop.test.eml"]
    read = email.message_from_bytes(
        (tmp_path / "mail" / "welcome.u1@shop.test.eml").read_bytes(), policy=policy.default
    )
    assert read["Subject"] == "Bienvenue, Ada !"
    assert isinstance(read, EmailMessage)
    text = read.get_body(("plain",))
    assert text is not None
    assert text.get_content().splitlines() == ["Bonjour Ada,"]  # CRLF on disk, as on the wire
    assert not list((tmp_path / "mail" / ".tmp").iterdir())


async def test_a_message_without_a_plain_message_id_is_refused(tmp_path: Path) -> None:
    mailer = open_mailer(str(tmp_path))
    message = a_message("<../../etc/passwd@x>")
    with pytest.raises(ValueError, match="Message-ID"):
        await mailer.send(message)
    del message["Message-ID"]
    with pytest.raises(ValueError, match="Message-ID"):
        await mailer.send(message)


async def test_smtp_hands_the_message_to_the_server(smtp_server: tuple[str, Inbox]) -> None:
    url, inbox = smtp_server
    mailer = open_mailer(url)
    await mailer.ping()
    await mailer.send(a_message())
    assert len(inbox.received) == 1
    received = inbox.received[0]
    assert received["Message-ID"] == "<welcome.u1@shop.test>"
    assert received["To"] == "ada@example.com"
    assert received.is_multipart()


async def test_smtp_to_a_server_that_is_not_there_raises_a_connection_error() -> None:
    mailer = open_mailer(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ConnectionRefusedError):
        await mailer.send(a_message())


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="MAIL_URL"):
        open_mailer("carrier-pigeon://coop")
