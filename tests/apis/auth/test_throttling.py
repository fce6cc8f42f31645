"""Login throttling: repeated failures per email, or per client address, answer 429 with Retry-After."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from kit.settings import Settings
from tests.apis.auth.conftest import PASSWORD, World
from tests.support import embedded_settings

WINDOW = 600


@pytest.fixture
def auth_settings(tmp_path: Path) -> Settings:
    return embedded_settings(
        tmp_path,
        login_throttle_window=WINDOW,
        login_max_failures_per_email=3,
        login_max_failures_per_address=5,
    )


async def attempt(
    world: World, email: str, password: str, address: str = "203.0.113.7"
) -> tuple[int, dict[str, str]]:
    answer = await world.client.post(
        "/login", json={"email": email, "password": password}, headers={"X-Forwarded-For": address}
    )
    return answer.status_code, dict(answer.headers)


async def test_repeated_failures_for_one_email_are_answered_429_with_retry_after(world: World) -> None:
    email = world.people["customer"].email
    assert [(await attempt(world, email, "wrong"))[0] for _ in range(3)] == [401, 401, 401]
    status, headers = await attempt(world, email.upper(), PASSWORD)  # even the right password waits
    assert status == 429
    assert 1 <= int(headers["retry-after"]) <= WINDOW
    answer = await world.client.post("/login", json={"email": email, "password": PASSWORD})
    assert answer.json()["code"] == "LoginThrottled"


async def test_one_address_failing_on_many_emails_is_throttled_and_others_are_not(world: World) -> None:
    statuses = [(await attempt(world, f"guess{n}@example.com", "wrong"))[0] for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert (await attempt(world, world.people["other"].email, PASSWORD, address="198.51.100.1"))[0] == 200


async def test_the_address_counted_is_the_one_the_gateway_appended(world: World) -> None:
    for n in range(5):
        await attempt(world, f"guess{n}@example.com", "wrong", address=f"10.0.0.{n}, 203.0.113.9")
    assert (await attempt(world, "guess9@example.com", "wrong", address="10.9.9.9, 203.0.113.9"))[0] == 429


async def test_a_successful_login_clears_the_emails_failures(world: World) -> None:
    email = world.people["customer"].email
    for _ in range(2):
        await attempt(world, email, "wrong")
    assert (await attempt(world, email, PASSWORD))[0] == 200
    assert [(await attempt(world, email, "wrong"))[0] for _ in range(2)] == [401, 401]


async def test_a_caller_not_behind_the_gateway_cannot_pick_its_address(app: FastAPI) -> None:
    """Forged X-Forwarded-For from a peer that is not a trusted proxy: the peer's own address is counted."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("203.0.113.77", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            statuses = []
            for n in range(6):
                body = {"email": f"forger{n}@example.com", "password": "wrong"}
                answer = await client.post("/login", json=body, headers={"X-Forwarded-For": f"10.0.0.{n}"})
                statuses.append(answer.status_code)
    assert statuses == [401] * 5 + [429]


async def test_parallel_guesses_check_no_more_passwords_than_the_limit(world: World) -> None:
    """40 wrong passwords at once against a limit of 3 per email: 3 are checked (401), 37 refused (429)."""
    email = world.people["customer"].email
    guesses = [attempt(world, email, f"wrong-{n}", address=f"198.51.100.{n}") for n in range(40)]
    statuses = Counter(status for status, _ in await asyncio.gather(*guesses))
    assert statuses == {401: 3, 429: 37}


async def test_parallel_guesses_from_one_address_check_no_more_than_its_limit(world: World) -> None:
    guesses = [attempt(world, f"guess{n}@example.com", "wrong") for n in range(20)]
    statuses = Counter(status for status, _ in await asyncio.gather(*guesses))
    assert statuses == {401: 5, 429: 15}


async def test_a_successful_login_gives_the_address_its_attempt_back(world: World) -> None:
    for _ in range(4):  # one short of the address's limit, each a successful login
        assert (await attempt(world, world.people["other"].email, PASSWORD))[0] == 200
    statuses = [(await attempt(world, f"guess{n}@example.com", "wrong"))[0] for n in range(6)]
    assert statuses == [401] * 5 + [429]
