"""The key-value port with expiry: carts, rate-limit counters and token buckets (Redis in production).

Values are bytes. `compare_and_set` is the general atomic primitive; `update` builds optimistic
read-modify-write on it, so concurrent writers of one key never lose each other's changes. `incr` and
`take` are atomic on their own, being on the hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import urlsplit


class ConcurrentUpdate(Exception):
    """`update` kept losing races on one key; the caller may retry or give up."""


class Cache(Protocol):
    async def get(self, key: str, *, ttl: float | None = None) -> bytes | None:
        """The value, or None; with `ttl`, also push the expiry out (a read counts as activity)."""

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> bool:
        """True when the key existed."""

    async def incr(self, key: str, *, ttl: float, by: int = 1) -> int:
        """Add `by` atomically and return the new count; the first increment starts the expiry window
        (fixed-window counters). A negative `by` gives back what was taken, and leaves an absent key absent.
        """

    async def take(self, key: str, *, per_second: float, burst: int) -> float:
        """Take one token from the bucket `key` (full at `burst`, refilled at `per_second`), atomically:
        0.0 when one was there, else the seconds until one will be (nothing taken).
        """

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes | None, *, ttl: float | None = None
    ) -> bool:
        """Write `value` (None deletes) only if the key still holds `expected` (None: absent)."""

    async def ping(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


async def update(
    cache: Cache,
    key: str,
    change: Callable[[bytes | None], bytes | None],
    *,
    ttl: float | None = None,
    attempts: int = 50,
) -> bytes | None:
    """Apply `change` to the current value atomically (optimistic concurrency) and return the new value."""
    for _ in range(attempts):
        current = await cache.get(key)
        new = change(current)
        if await cache.compare_and_set(key, current, new, ttl=ttl):
            return new
    raise ConcurrentUpdate(f"too much contention on {key!r}")


def open_cache(url: str) -> Cache:
    """The adapter for `url`: `memory://[name]` (in-process) or `redis://host:port/db`."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from kit.cache.memory import MemoryCache

        return MemoryCache(url)
    if scheme in ("redis", "rediss"):
        from kit.cache.redis import RedisCache  # on demand: a process loads only its clients

        return RedisCache(url)
    raise ValueError(f"unsupported CACHE_URL scheme {scheme!r}")
