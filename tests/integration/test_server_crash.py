"""A commit PostgreSQL acknowledged survives a crash of the server, as the fault suite assumes.

The local servers trade durability for speed (no fsync), but never so far that a SIGKILLed server forgets
what it acknowledged: with `synchronous_commit=off` it did (the last few hundred milliseconds of commits),
and the fault suite's PostgreSQL crash then showed orders whose stock reservation was gone and events
applied by a consumer whose record of them was not, defects of the test's server, not of the platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import asyncpg
import pytest
from asyncpg.exceptions import InternalClientError

from tests.e2e.real_platform import private_servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# How asyncpg tells a client its server died under it.
GONE = (asyncpg.PostgresError, asyncpg.InterfaceError, InternalClientError, OSError)


async def test_every_acknowledged_commit_survives_a_sigkill_of_the_server() -> None:
    with private_servers(("postgres",)) as servers:
        url = f"{servers.postgres}/orders"
        acknowledged: list[int] = []
        going = asyncio.Event()

        async def commit_until_the_crash() -> None:
            """One-row transactions, one after the other, until the server is gone."""
            connection = await asyncpg.connect(url)
            try:
                await connection.execute("CREATE TABLE acknowledged (n integer PRIMARY KEY)")
                with contextlib.suppress(*GONE):
                    for n in itertools.count():
                        await connection.execute("INSERT INTO acknowledged VALUES ($1)", n)
                        acknowledged.append(n)
                        if n == 200:
                            going.set()
            finally:
                connection.terminate()

        committing = asyncio.create_task(commit_until_the_crash())
        await asyncio.wait_for(going.wait(), 60)
        await asyncio.to_thread(servers.stop, "postgres")  # SIGKILL while commits go on
        await committing
        servers.start("postgres")
        connection = await asyncpg.connect(url)
        try:
            kept = {row["n"] for row in await connection.fetch("SELECT n FROM acknowledged")}
        finally:
            await connection.close()
    lost = sorted(set(acknowledged) - kept)
    assert not lost, f"the crash lost {len(lost)} of {len(acknowledged)} acknowledged commits: {lost[:20]}"
