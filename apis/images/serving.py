"""HTTP caching and byte ranges for immutable files: a strong ETag and `If-None-Match` (304), and one
`Range` of bytes (206, or 416 when it lies past the end). Several ranges, or a malformed one, get the
whole file, which RFC 9110 allows.
"""

from __future__ import annotations

import re
from typing import ClassVar

from kit.errors import AppError

CACHE_CONTROL = "public, max-age=31536000, immutable"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(AppError):
    status_code: ClassVar[int] = 416
    default_code = "RangeNotSatisfiable"

    def __init__(self, length: int) -> None:
        super().__init__(
            f"The range lies outside the file's {length} bytes.",
            headers={"Content-Range": f"bytes */{length}"},
        )


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether the client's copy is current: its `If-None-Match` names this ETag (weakly compared) or `*`."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def byte_range(header: str | None, if_range: str | None, etag: str, length: int) -> tuple[int, int] | None:
    """The first and last byte asked for, or None for the whole file."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None or (if_range is not None and if_range.strip() != etag):
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        if int(last) == 0:
            raise RangeNotSatisfiable(length)
        return max(0, length - int(last)), length - 1
    start = int(first)
    end = min(int(last), length - 1) if last else length - 1
    if last and int(last) < start:
        return None
    if start >= length:
        raise RangeNotSatisfiable(length)
    return start, end
