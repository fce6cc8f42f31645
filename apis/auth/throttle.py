"""Login throttling: failed attempts counted per email and per client address in fixed windows (the Cache
port: memory or Redis), so that guessing a password is slow and one address cannot sweep many accounts.
Every attempt reserves its place first; a successful one gives it back.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from apis.auth.errors import LoginThrottled
from kit import metrics
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

    async def reserve(self, email: str, address: str) -> None:
        """Take one attempt from each counter before the password is checked (INCR first: atomic on Redis
        and embedded), so that parallel guesses can never evaluate more passwords than the limit; raise
        LoginThrottled (429 with Retry-After), giving back what was taken, once either counter is used up.
        A failed attempt keeps its reservation.
        """
        taken: list[str] = []
        for key, limit in self._counters(email, address):
            taken.append(key)
            if await self._cache.incr(key, ttl=self._policy.window) > limit:
                for held in taken:
                    await self._cache.incr(held, ttl=self._policy.window, by=-1)
                metrics.RATE_LIMIT_REFUSALS.labels("auth", "login-failures").inc()
                remaining = self._policy.window - self._clock() % self._policy.window
                raise LoginThrottled(max(1, math.ceil(remaining)))

    async def succeeded(self, email: str, address: str) -> None:
        """A correct password clears the account's counter and gives the address its attempt back."""
        email_key, address_key = (key for key, _ in self._counters(email, address))
        await self._cache.delete(email_key)
        await self._cache.incr(address_key, ttl=self._policy.window, by=-1)
