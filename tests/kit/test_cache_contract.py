"""The key-value contract, the same for every adapter."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from kit.cache import Cache, update
from tests.support import BOTH_CACHES, scratch_cache


@pytest.fixture(params=BOTH_CACHES)
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    async with scratch_cache(request.param) as opened:
        yield opened


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_a_value_reads_back(cache: Cache, key: str) -> None:
    await cache.set(key, b"v1")
    assert await cache.get(key) == b"v1"


async def test_a_key_expires_after_its_ttl(cache: Cache, key: str) -> None:
    await cache.set(key, b"v1", ttl=0.3)
    await asyncio.sleep(0.5)
    assert await cache.get(key) is None


async def test_reading_with_a_ttl_pushes_the_expiry_out(cache: Cache, key: str) -> None:
    await cache.set(key, b"v1", ttl=0.5)
    await asyncio.sleep(0.3)
    assert await cache.get(key, ttl=0.5) == b"v1"
    await asyncio.sleep(0.3)
    assert await cache.get(key) == b"v1"


async def test_delete_says_whether_the_key_existed(cache: Cache, key: str) -> None:
    await cache.set(key, b"v1")
    assert await cache.delete(key) is True
    assert await cache.delete(key) is False


async def test_incr_counts_within_a_window_that_expires(cache: Cache, key: str) -> None:
    assert [await cache.incr(key, ttl=0.3) for _ in range(3)] == [1, 2, 3]
    await asyncio.sleep(0.5)
    assert await cache.incr(key, ttl=0.3) == 1


async def test_concurrent_increments_each_get_their_own_count(cache: Cache, key: str) -> None:
    counts = await asyncio.gather(*(cache.incr(key, ttl=5) for _ in range(40)))
    assert sorted(counts) == list(range(1, 41))


async def test_incr_gives_back_and_never_revives_an_absent_key(cache: Cache, key: str) -> None:
    assert [await cache.incr(key, ttl=5, by=n) for n in (2, -1, 1)] == [2, 1, 2]
    await cache.delete(key)
    assert await cache.incr(key, ttl=5, by=-1) == 0
    assert await cache.get(key) is None


async def test_compare_and_set_writes_only_over_the_expected_value(cache: Cache, key: str) -> None:
    assert await cache.compare_and_set(key, None, b"v1") is True
    assert await cache.compare_and_set(key, None, b"v2") is False
    assert await cache.compare_and_set(key, b"v1", b"v2") is True
    assert await cache.get(key) == b"v2"
    assert await cache.compare_and_set(key, b"v2", None) is True
    assert await cache.get(key) is None


async def test_concurrent_updates_of_one_key_lose_nothing(cache: Cache, key: str) -> None:
    def add(item: str):  # type: ignore[no-untyped-def]
        def change(current: bytes | None) -> bytes:
            return json.dumps([*json.loads(current or b"[]"), item]).encode()

        return change

    await asyncio.gather(*(update(cache, key, add(f"item-{n}"), ttl=60) for n in range(20)))
    assert sorted(json.loads(await cache.get(key) or b"[]")) == sorted(f"item-{n}" for n in range(20))


async def test_a_token_bucket_grants_its_burst_then_says_how_long_to_wait(cache: Cache, key: str) -> None:
    granted = [await cache.take(key, per_second=1, burst=3) for _ in range(3)]
    assert granted == [0.0, 0.0, 0.0]
    wait = await cache.take(key, per_second=1, burst=3)
    assert 0 < wait <= 1


async def test_a_token_bucket_refills_at_its_rate(cache: Cache, key: str) -> None:
    assert await cache.take(key, per_second=5, burst=1) == 0.0
    assert await cache.take(key, per_second=5, burst=1) > 0
    await asyncio.sleep(0.3)
    assert await cache.take(key, per_second=5, burst=1) == 0.0


async def test_parallel_takes_never_grant_more_than_the_burst(cache: Cache, key: str) -> None:
    waits = await asyncio.gather(*(cache.take(key, per_second=0.01, burst=5) for _ in range(40)))
    assert sum(1 for wait in waits if wait == 0) == 5
