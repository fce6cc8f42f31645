"""One play of the scenario set against one gateway: each scenario in turn, every answer watched (a 5xx,
or an error that is not JSON with a `message`, fails the scenario it came in), then the events observed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import httpx

from kit.settings import Settings
from tests.scenarios import events
from tests.scenarios.scenarios import SCENARIOS, Scenario
from tests.scenarios.shop import Admin, Caused

DEFAULT_ADMIN_EMAIL = str(Settings.model_fields["admin_email"].default)
DEFAULT_ADMIN_PASSWORD = Settings.model_fields["admin_password"].default.get_secret_value()
NO_BUS = "no bus URL given (--bus-url, COMMERCE_SCENARIO_BUS_URL): the events were NOT checked"
EVENTS = "every event on the bus, once"


class WrongAnswers:
    """An httpx response hook noting every answer a healthy platform never gives."""

    def __init__(self) -> None:
        self.found: list[str] = []

    async def __call__(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        await response.aread()
        where = f"{response.request.method} {response.request.url.path} answered {response.status_code}"
        if response.status_code >= 500:
            self.found.append(f"{where}: {response.text[:300]}")
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and isinstance(body.get("message"), str)):
            self.found.append(f"{where} without a JSON message: {response.text[:300]}")


@dataclass
class Run:
    """The scenario set played against `http`'s gateway; `caused` gathers what the scenarios did."""

    http: httpx.AsyncClient
    admin: Admin
    bus_url: str | None
    wrong: WrongAnswers
    caused: Caused = field(default_factory=Caused)

    async def play(self, name: str, scenario: Scenario) -> None:
        """Play one scenario; raise (AssertionError) if it failed or a wrong answer came meanwhile."""
        before = len(self.wrong.found)
        caused = await scenario(self.http, self.admin)
        wrong = self.wrong.found[before:]
        assert not wrong, f"{name}: wrong answers: " + "; ".join(wrong)
        self.caused.merge(caused)

    async def observe_events(self) -> events.Observed:
        """The bus holds every event the scenarios played caused, each once (AssertionError otherwise)."""
        assert self.bus_url is not None, NO_BUS
        assert self.caused.events, "no scenario passed: no event to look for"
        observed = await events.observe(self.bus_url, self.caused)
        assert not observed.problems, f"{observed.summary()}; wrong: " + "; ".join(observed.problems)
        return observed


@contextlib.asynccontextmanager
async def open_run(gateway: str, admin: Admin, bus_url: str | None) -> AsyncIterator[Run]:
    wrong = WrongAnswers()
    async with httpx.AsyncClient(base_url=gateway, timeout=60, event_hooks={"response": [wrong]}) as http:
        yield Run(http, admin, bus_url, wrong)


async def until_up(gateway: str, seconds: float) -> None:
    """Wait until the gateway's /health answers 200 with every upstream UP (a platform still starting)."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as http:
        while True:
            try:
                response = await http.get("/health")
                last = f"{response.status_code} {response.text[:300]}"
                body = response.json() if response.status_code == 200 else {}
                if body and set(body.get("upstreams", {}).values()) <= {"UP"}:
                    return
            except (httpx.HTTPError, ValueError) as error:
                last = repr(error)
            if time.monotonic() > deadline:
                raise SystemExit(f"the gateway at {gateway} is not up after {seconds:.0f} s: {last}")
            await asyncio.sleep(3)


@dataclass(frozen=True)
class Outcome:
    name: str
    verdict: Literal["PASS", "FAIL", "SKIP"]
    seconds: float
    detail: str = ""

    def line(self) -> str:
        text = f"{self.verdict}  {self.name} ({self.seconds:.1f} s)"
        return f"{text}: {self.detail}" if self.detail else text


async def play_all(run: Run, names: Iterable[str], report: Callable[[Outcome], None]) -> list[Outcome]:
    """Play the named scenarios, then observe the events; `report` hears each outcome as it comes."""
    outcomes: list[Outcome] = []

    async def attempt(name: str, play: Callable[[], Awaitable[str | None]]) -> None:
        started = time.monotonic()
        try:
            detail = await play()
            outcome = Outcome(name, "PASS", time.monotonic() - started, str(detail or ""))
        except Exception as error:  # a scenario's failure is reported, and the next one goes on
            outcome = Outcome(name, "FAIL", time.monotonic() - started, f"{type(error).__name__}: {error}")
        outcomes.append(outcome)
        report(outcome)

    for name in names:
        await attempt(name, functools.partial(run.play, name, SCENARIOS[name]))
    if run.bus_url is None:
        skipped = Outcome(EVENTS, "SKIP", 0.0, NO_BUS)
        outcomes.append(skipped)
        report(skipped)
    else:

        async def observed() -> str:
            return (await run.observe_events()).summary()

        await attempt(EVENTS, observed)
    return outcomes
