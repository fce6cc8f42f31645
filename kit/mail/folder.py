"""Messages as files of one folder (`<message-id>.eml`), the embedded mailbox: a developer opens them with
any mail reader. A message is written to `.tmp/`, flushed, then renamed over its name, so a crash never
leaves half a message, and the same message handed over twice is still one file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from email import policy
from email.message import EmailMessage
from pathlib import Path

from kit.mail import message_id
from kit.storage.folder import write_atomically


class FolderMailer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"
        shutil.rmtree(self._tmp, ignore_errors=True)  # half writes of a process that died
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path_of(self, message: EmailMessage) -> Path:
        """The file a message goes to: its Message-ID without the brackets."""
        return self.root / (message_id(message).strip("<>") + ".eml")

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(
            write_atomically, self._tmp, self.path_of(message), message.as_bytes(policy=policy.SMTP)
        )

    async def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise OSError(f"the mail folder {self.root} is not writable")
