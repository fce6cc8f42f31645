import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.settings import Settings
from kit.temporal import answers, search_attribute_flags, temporal_cli
from tests.support import embedded_settings, free_port


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
    port = free_port()
    address = f"127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("temporal") / "temporal.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                temporal_cli(),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warn",
                *search_attribute_flags(),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not answers(address):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Temporal dev server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(10)
