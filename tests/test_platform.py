"""`commerce dev` as a user starts it: banner, gateway, every service, the Temporal UI, a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kit.settings import SERVICES
from tests.support import free_port

pytestmark = pytest.mark.slow


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains `text` (how a leftover child would show)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Platform:
    outputs: dict[int, list[str]] = {}  # noqa: RUF012 (the output of each started platform, for failures)

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ports = {name: free_port() for name in (*SERVICES, "gateway")}
        self.temporal_port, self.ui_port = free_port(), free_port()
        self.gateway = f"http://127.0.0.1:{self.ports['gateway']}"
        self.ui = f"http://127.0.0.1:{self.ui_port}"

    def start(self, *options: str) -> subprocess.Popen[str]:
        env = {
            **os.environ,
            "COMMERCE_PORTS": json.dumps(self.ports),
            "COMMERCE_TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "COMMERCE_TEMPORAL_UI_PORT": str(self.ui_port),
        }
        command = [
            str(Path(sys.executable).parent / "commerce"),
            "dev",
            "--data-dir",
            str(self.data_dir),
            *options,
        ]
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @staticmethod
    def wait_for_banner(process: subprocess.Popen[str], timeout: float = 60) -> str:
        assert process.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        for line in process.stdout:
            seen.append(line)
            if "Press Ctrl-C to stop." in line:
                # keep draining: a full pipe would block the platform's logging
                threading.Thread(target=lambda: seen.extend(process.stdout or ()), daemon=True).start()
                Platform.outputs[process.pid] = seen
                return "".join(seen)
            if time.monotonic() > deadline:
                break
        process.kill()
        problems = [line for line in seen if not line.startswith(" ")]
        pytest.fail("no banner:\n" + "".join(problems)[-4000:])

    @staticmethod
    def stop(process: subprocess.Popen[str]) -> int:
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("did not stop:\n" + "".join(Platform.outputs.get(process.pid, []))[-4000:])


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    yield Platform(tmp_path / "data")
    for pid in processes_mentioning(str(tmp_path)):
        os.kill(pid, signal.SIGKILL)


def test_commerce_dev_serves_the_platform_and_stops_cleanly(platform: Platform) -> None:
    process = platform.start()
    banner = Platform.wait_for_banner(process)
    try:
        assert platform.gateway in banner
        assert f"{platform.gateway}/docs" in banner
        assert platform.ui in banner
        assert "admin@" in banner
        health = httpx.get(f"{platform.gateway}/health").json()
        assert health == {"status": "UP", "service": "gateway", "upstreams": dict.fromkeys(SERVICES, "UP")}
        for service in SERVICES:
            response = httpx.get(f"{platform.gateway}/{service}/ready")
            assert response.status_code == 200, response.text
            assert response.json()["service"] == service
        assert httpx.get(platform.ui).status_code == 200
        malformed = httpx.post(f"{platform.gateway}/nowhere", content=b"{bad json")
        assert malformed.status_code == 404
        assert malformed.json()["code"] == "NotFound"
    finally:
        exit_code = Platform.stop(process)
    assert exit_code == 0
    time.sleep(0.5)
    assert processes_mentioning(str(platform.data_dir)) == []


def test_a_second_start_reuses_the_data(platform: Platform) -> None:
    first = platform.start()
    Platform.wait_for_banner(first)
    Platform.stop(first)
    databases = {p.name: p.stat().st_mtime for p in platform.data_dir.glob("*.db")}
    assert {"auth.db", "products.db", "orders.db", "temporal.db"} <= set(databases)
    second = platform.start()
    try:
        Platform.wait_for_banner(second)
        assert httpx.get(f"{platform.gateway}/orders/ready").status_code == 200
    finally:
        assert Platform.stop(second) == 0
