"""Blobs as files of one folder (a volume in Compose and Kind). A write goes to a temporary file in the
folder's `.tmp/`, is flushed to disk, then renamed over its key, so a crash never leaves a half file under a
key; leftovers in `.tmp/` are never served and are swept at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from pathlib import Path

from kit.storage import Blob, check_key


def write_atomically(tmp: Path, target: Path, data: bytes) -> None:
    """`data` to a new file in `tmp`, flushed to disk, then renamed over `target`: never a half file there."""
    temporary = tmp / uuid.uuid4().hex
    try:
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"
        shutil.rmtree(self._tmp, ignore_errors=True)  # half writes of a process that died
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    def _put(self, target: Path, data: bytes) -> None:
        write_atomically(self._tmp, target, data)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def stat(self, key: str) -> Blob | None:
        try:
            return Blob(key=key, size=self._path(key).stat().st_size)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def rename(self, key: str, new_key: str) -> bool:
        try:
            os.replace(self._path(key), self._path(new_key))
        except FileNotFoundError:
            return False
        return True

    async def list(self) -> list[Blob]:
        blobs = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            with contextlib.suppress(FileNotFoundError):  # deleted while listing
                blobs.append(Blob(key=entry.name, size=entry.stat().st_size))
        return blobs
