"""In-process key-value store with expiry; one store per name, shared by every client in the process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit


@dataclass
class _Store:
    values: dict[str, tuple[bytes, float | None]] = field(default_factory=dict)
    last_sweep: float = 0.0

    def read(self, key: str, now: float) -> bytes | None:
        entry = self.values.get(key)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= now:
            del self.values[key]
            return None
        return entry[0]

    def sweep(self, now: float) -> None:
        """Drop expired keys once a minute, so abandoned keys do not accumulate."""
        if now - self.last_sweep > 60:
            self.last_sweep = now
            for key in [k for k, (_, exp) in self.values.items() if exp is not None and exp <= now]:
                del self.values[key]


_stores: dict[str, _Store] = {}


class MemoryCache:
    """Operations are atomic because they never await between reading and writing."""

    def __init__(self, url: str = "memory://") -> None:
        parts = urlsplit(url)
        self._store = _stores.setdefault(parts.netloc + parts.path, _Store())
        self._now = time.monotonic

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._now() + ttl

    async def get(self, key: str, *, ttl: float | None = None) -> bytes | None:
        now = self._now()
        self._store.sweep(now)
        value = self._store.read(key, now)
        if value is not None and ttl is not None:
            self._store.values[key] = (value, now + ttl)
        return value

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._store.values[key] = (value, self._expiry(ttl))

    async def delete(self, key: str) -> bool:
        existed = self._store.read(key, self._now()) is not None
        self._store.values.pop(key, None)
        return existed

    async def incr(self, key: str, *, ttl: float, by: int = 1) -> int:
        now = self._now()
        current = self._store.read(key, now)
        if current is None:
            if by <= 0:
                return 0
            self._store.values[key] = (str(by).encode(), now + ttl)
            return by
        count = int(current) + by
        self._store.values[key] = (str(count).encode(), self._store.values[key][1])
        return count

    async def take(self, key: str, *, per_second: float, burst: int) -> float:
        now = self._now()
        tokens, at = float(burst), now
        if (current := self._store.read(key, now)) is not None:
            stored_tokens, stored_at = current.split(b":")
            tokens, at = float(stored_tokens), float(stored_at)
        tokens = min(float(burst), tokens + max(0.0, now - at) * per_second)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / per_second
        tokens -= 1 if wait == 0 else 0
        self._store.values[key] = (f"{tokens!r}:{now!r}".encode(), now + burst / per_second + 1)
        return wait

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes | None, *, ttl: float | None = None
    ) -> bool:
        if self._store.read(key, self._now()) != expected:
            return False
        if value is None:
            self._store.values.pop(key, None)
        else:
            self._store.values[key] = (value, self._expiry(ttl))
        return True

    async def ping(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None
