import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from kit.settings import Settings
from kit.temporal import answers
from tests.support import embedded_settings, temporal_dev_server, time_skipping_environment

NEEDS_A_SERVER = {"temporal_address", "time_skipping_env"}  # fixtures that reach or start a server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `integration` every test that uses a server fixture, so `-m "not integration"` needs none."""
    for item in items:
        if NEEDS_A_SERVER & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return embedded_settings(tmp_path)


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The run's Temporal server (deploy/local/infra), else a dev server of our own, headless, in memory."""
    if started := os.environ.get("COMMERCE_TEST_TEMPORAL_ADDRESS"):
        if not answers(started):
            pytest.fail(f"no Temporal server answers at COMMERCE_TEST_TEMPORAL_ADDRESS={started}")
        yield started
        return
    with temporal_dev_server(tmp_path_factory.mktemp("temporal")) as address:
        yield address


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping test server for the run (deploy/local/infra test-server). Its clock is shared:
    tests use it one at a time and end the workflows they leave open (see shop_fakes.running_saga).
    """
    async with time_skipping_environment() as env:
        yield env
