"""The scenario set against each target: `COMMERCE_SCENARIO_TARGET=embedded|split|url` (comma-separated
for several), embedded and split by default. Each scenario is a test, then the bus is read for every
event they caused, then `python -m tests.scenarios` is run against the same gateway.

    COMMERCE_SCENARIO_TARGET=url COMMERCE_SCENARIO_URL=http://127.0.0.1:3000 \\
        COMMERCE_SCENARIO_BUS_URL=kafka://127.0.0.1:9092 python3 -m uv run pytest tests/scenarios
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from _pytest.mark import ParameterSet

from tests.scenarios.runner import EVENTS, NO_BUS, Run, open_run
from tests.scenarios.scenarios import SCENARIOS
from tests.scenarios.targets import TARGETS, Target, open_target

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(900)]
MARKS = {
    "embedded": [pytest.mark.slow],
    "split": [pytest.mark.slow, pytest.mark.integration],
    "url": [pytest.mark.integration],
}


def chosen_targets() -> list[ParameterSet]:
    names = [n.strip() for n in os.environ.get("COMMERCE_SCENARIO_TARGET", "embedded,split").split(",")]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise pytest.UsageError(f"COMMERCE_SCENARIO_TARGET: unknown {unknown}; one of {', '.join(TARGETS)}")
    return [pytest.param(name, marks=MARKS[name], id=name) for name in names]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=chosen_targets())
async def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Target]:
    async with open_target(request.param, tmp_path_factory.mktemp(request.param)) as opened:
        yield opened


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run(target: Target) -> AsyncIterator[Run]:
    async with open_run(target.gateway, target.admin, target.bus_url) as played:
        yield played


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_scenario(run: Run, name: str) -> None:
    await run.play(name, SCENARIOS[name])


async def test_every_event_the_scenarios_caused_is_on_the_bus_once(run: Run) -> None:
    if run.bus_url is None:
        pytest.skip(NO_BUS)  # only the url target may lack one
    observed = await run.observe_events()
    assert observed.events, observed.summary()


async def test_the_command_plays_the_set_against_the_gateway(target: Target) -> None:
    """`python -m tests.scenarios --url`, as the Kind smoke test runs it (two scenarios, and the events)."""
    command = [sys.executable, "-m", "tests.scenarios", "--url", target.gateway, "--wait", "60"]
    command += ["--only", "register", "--only", "cancel another order"]
    command += ["--bus-url", target.bus_url] if target.bus_url else []
    env = {
        **os.environ,
        "COMMERCE_SCENARIO_ADMIN_EMAIL": target.admin.email,
        "COMMERCE_SCENARIO_ADMIN_PASSWORD": target.admin.password,
    }
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output = (await process.communicate())[0].decode()
    assert process.returncode == 0, output
    lines = output.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["PASS", "PASS", "PASS" if target.bus_url else "SKIP"]
    assert EVENTS in lines[-2], output
    verdicts = "3 passed, 0 failed, 0 skipped" if target.bus_url else "2 passed, 0 failed, 1 skipped"
    assert lines[-1] == f"scenarios: {verdicts}", output
