"""Password hashing with argon2id, off the event loop; unknown users cost as much time as known ones.

Each hash takes the profile's memory (64 MiB in production), so at most `concurrency` run at once and the
others wait their turn: a burst of registrations or logins cannot take the process's memory. The schemas
bound what is hashed (passwords of 8 to 256 characters, names of 200).
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hash and verify passwords; hashes carry their parameters, so any profile verifies any other's."""

    def __init__(self, hasher: PasswordHasher, *, concurrency: int = 4) -> None:
        self._hasher = hasher
        self._decoy = hasher.hash(secrets.token_urlsafe(16))
        self._turns = asyncio.Semaphore(concurrency)

    @classmethod
    def for_environment(cls, environment: str, *, concurrency: int = 4) -> Passwords:
        """argon2id with RFC 9106's low-memory profile (64 MiB, 3 passes); the test suite uses a cheap one."""
        if environment == "test":
            return cls(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1), concurrency=concurrency)
        return cls(PasswordHasher(), concurrency=concurrency)

    async def hash(self, password: str) -> str:
        async with self._turns:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; a missing hash (unknown user, pending invitee) is checked
        against a decoy, so that the answer takes as long as for a real account.
        """

        def check() -> bool:
            try:
                return self._hasher.verify(stored or self._decoy, password) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        async with self._turns:
            return await asyncio.to_thread(check)

    def needs_rehash(self, stored: str) -> bool:
        """True when `stored` was made with weaker parameters than today's (upgraded at the next login)."""
        return self._hasher.check_needs_rehash(stored)
