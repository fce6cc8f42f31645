"""The file-storage port: immutable blobs by key (the images service's originals and sizes), chosen by
`COMMERCE_IMAGES_STORE`.

A folder (`FolderStore`) is the default and the only adapter today. An S3-compatible adapter would keep the
same six methods: `put` as a single PutObject (atomic by nature), `get` as GetObject (None on NoSuchKey),
`stat` as HeadObject, `delete` as DeleteObject, `rename` as CopyObject then DeleteObject, `list` as
ListObjectsV2, and be picked by the scheme `s3://bucket/prefix` in `open_store`.

Keys are plain names (`[A-Za-z0-9_-][A-Za-z0-9._-]*`): a key can never name a folder or climb out of one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True)
class Blob:
    key: str
    size: int


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` at once: readers see the old blob or the whole new one, never a part."""

    async def get(self, key: str) -> bytes | None:
        """The blob's bytes, or None when there is none."""

    async def stat(self, key: str) -> Blob | None:
        """The blob's size without its bytes, or None when there is none."""

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing key is fine."""

    async def rename(self, key: str, new_key: str) -> bool:
        """Move a blob to another key (replacing any there); False when `key` holds nothing."""

    async def list(self) -> list[Blob]:
        """Every blob, by key."""


def check_key(key: str) -> str:
    """A key is a plain name; anything else (`../x`, `a/b`, `.hidden`) is a programming error."""
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"invalid blob key {key!r}")
    return key


def open_store(url: str) -> BlobStore:
    """A folder path or `file:///path` (created if missing); other schemes are not built yet."""
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        from kit.storage.folder import FolderStore

        return FolderStore(Path(parts.path if parts.scheme else url))
    raise ValueError(f"unsupported IMAGES_STORE scheme {parts.scheme!r}")
