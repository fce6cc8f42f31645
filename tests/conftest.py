import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.settings import Settings
from kit.temporal import answers
from tests.support import embedded_settings, temporal_dev_server


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
