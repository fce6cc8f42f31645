"""Password hashing: at most `concurrency` argon2 hashes at once, whatever the burst (each takes 64 MiB)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Literal

from argon2 import PasswordHasher

from apis.auth.passwords import Passwords


class CountingHasher(PasswordHasher):
    """A cheap hasher that records how many hashes ran at the same time."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.running = self.most = 0
        self._lock = threading.Lock()

    def _counted(self, work: Any) -> Any:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.02)
            return work()
        finally:
            with self._lock:
                self.running -= 1

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        return str(self._counted(lambda: super(CountingHasher, self).hash(password, salt=salt)))

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self._counted(lambda: super(CountingHasher, self).verify(hash, password))
        return True


async def test_a_burst_of_hashes_and_checks_runs_at_most_concurrency_at_once() -> None:
    hasher = CountingHasher()
    passwords = Passwords(hasher, concurrency=2)
    stored = await passwords.hash("correct horse")
    work = [passwords.hash(f"password {n}") for n in range(8)]
    checks = [passwords.verify(stored, "wrong") for _ in range(8)]
    await asyncio.gather(*work, *checks)
    assert hasher.most == 2
