"""Login throttling: failed attempts counted per email and per client address in fixed windows (the Cache
port: memory or Redis), so that guessing a password is slow and one address cannot sweep many accounts.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from apis.auth.errors import LoginThrottled
from kit.cache import Cache


@dataclass(frozen=True)
class ThrottlePolicy:
    window: int
    per_email: int
    per_address: int


class LoginThrottle:
    def __init__(
        self, cache: Cache, policy: ThrottlePolicy, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._cache = cache
        self._policy = policy
        self._clock = clock

    def _counters(self, email: str, address: str) -> list[tuple[str, int]]:
        window = int(self._clock() // self._policy.window)
        # emails are hashed: the cache holds no personal data
        hashed = hashlib.sha256(email.encode()).hexdigest()[:32]
        return [
            (f"auth:login-failures:email:{hashed}:{window}", self._policy.per_email),
            (f"auth:login-failures:address:{address}:{window}", self._policy.per_address),
        ]

    async def check(self, email: str, address: str) -> None:
        """Raise LoginThrottled (429 with Retry-After) while either counter is at its limit."""
        for key, limit in self._counters(email, address):
            if int(await self._cache.get(key) or 0) >= limit:
                now = self._clock()
                remaining = self._policy.window - now % self._policy.window
                raise LoginThrottled(max(1, math.ceil(remaining)))

    async def failed(self, email: str, address: str) -> None:
        for key, _ in self._counters(email, address):
            await self._cache.incr(key, ttl=self._policy.window)

    async def succeeded(self, email: str, address: str) -> None:
        """A correct password clears the account's counter (not the address's)."""
        await self._cache.delete(self._counters(email, address)[0][0])
