"""The platform on real servers of its own, every API and worker its own process: what the fault tests break.

`private_servers` runs deploy/local/infra on free ports with a state dir of its own (never the shared
servers on the default ports) and can stop, kill and start one server with its data kept. `Processes`
runs each service (`commerce serve <name>`) and each worker (`commerce worker <queue>`) as a child
process of the test, which it can SIGKILL and start again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kit.settings import SERVICES, Settings
from tests.support import INFRA, free_port
from workers import WORKERS

SERVERS = ("postgres", "redis", "kafka", "elasticsearch", "temporal")
PORT_VARIABLES = (
    "INFRA_POSTGRES_PORT",
    "INFRA_REDIS_PORT",
    "INFRA_KAFKA_PORT",
    "INFRA_KAFKA_CONTROLLER_PORT",
    "INFRA_ELASTIC_PORT",
    "INFRA_ELASTIC_TRANSPORT_PORT",
    "INFRA_TEMPORAL_PORT",
    "INFRA_CONSUL_PORT",
    "INFRA_CONSUL_SERVER_PORT",
    "INFRA_CONSUL_SERF_LAN_PORT",
)
APIS = (*SERVICES, "gateway")


@dataclass(frozen=True)
class Servers:
    """A private set of real servers (deploy/local/infra with its own state dir and ports)."""

    env: dict[str, str]  # COMMERCE_INFRA_DIR and the INFRA_*_PORT variables
    urls: dict[str, str]  # COMMERCE_TEST_* of `infra env`

    def infra(self, *args: str, timeout: float = 300) -> None:
        done = subprocess.run(
            [str(INFRA), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"infra {' '.join(args)} failed: {done.stderr[-3000:]}")

    def stop(self, server: str, *, kill: bool = True) -> None:
        """Stop `server` (SIGKILL: a crash, unless `kill` is false), keeping its data."""
        self.infra("stop", *(["--kill"] if kill else []), server)

    def start(self, server: str) -> None:
        """Start `server` again on its kept data; returns once it answers."""
        self.infra("start", server)

    @property
    def postgres(self) -> str:
        return self.urls["COMMERCE_TEST_POSTGRES_URL"]

    @property
    def kafka(self) -> str:
        return self.urls["COMMERCE_TEST_KAFKA_URL"]


@contextlib.contextmanager
def private_servers(servers: tuple[str, ...] = SERVERS) -> Iterator[Servers]:
    """`servers` started on free ports with a state dir under the system's temp dir (the postgres and ES
    users must reach it: not under /root), and removed at the end.
    """
    state = Path(tempfile.mkdtemp(prefix="commerce-faults-"))
    state.chmod(0o755)
    env = {"COMMERCE_INFRA_DIR": str(state), **{name: str(free_port()) for name in PORT_VARIABLES}}
    started = Servers(env, {})
    try:
        started.infra("up", *servers, timeout=900)
        printed = subprocess.run(
            [str(INFRA), "env"],
            env={k: v for k, v in {**os.environ, **env}.items() if not k.startswith("COMMERCE_TEST_")},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        urls = dict(
            line.removeprefix("export ").split("=", 1) for line in printed.splitlines() if "=" in line
        )
        yield Servers(env, urls)
    finally:
        with contextlib.suppress(Exception):
            started.infra("down", *servers)
        subprocess.run(["rm", "-rf", str(state)], check=False)


@dataclass
class Processes:
    """Every API and worker of the platform as its own child process, on `servers`."""

    servers: Servers
    data_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in APIS})
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def environment(self) -> dict[str, str]:
        postgres = self.servers.postgres.replace("postgresql://", "postgresql+asyncpg://", 1)
        unlimited = json.dumps({"per_second": 0})
        return {
            "COMMERCE_ENVIRONMENT": "test",
            "COMMERCE_DATA_DIR": str(self.data_dir),
            "COMMERCE_PORTS": json.dumps(self.ports),
            "COMMERCE_DATABASE_URL": postgres + "/{service}",
            "COMMERCE_BUS_URL": self.servers.kafka,
            "COMMERCE_CACHE_URL": self.servers.urls["COMMERCE_TEST_REDIS_URL"],
            "COMMERCE_SEARCH_URL": self.servers.urls["COMMERCE_TEST_ELASTIC_URL"],
            "COMMERCE_DISCOVERY_URL": "static://",
            "COMMERCE_TEMPORAL_ADDRESS": self.servers.urls["COMMERCE_TEST_TEMPORAL_ADDRESS"],
            "COMMERCE_RATE_LIMIT": unlimited,
            "COMMERCE_STRICT_RATE_LIMIT": unlimited,
            "COMMERCE_PRODUCT_SYNC_DEBOUNCE": "0.2",
            "COMMERCE_ORDER_ANSWER_SECONDS": "3",
            "COMMERCE_OUTBOX_POLL_INTERVAL": "0.2",
            "COMMERCE_BUS_MAX_BACKOFF": "5",
            "COMMERCE_LOG_FORMAT": "console",
            "COMMERCE_LOG_LEVEL": "WARNING",
        }

    def settings(self) -> Settings:
        """What the tests need of the processes' settings (the Shop helpers: the admin's login)."""
        temporal = self.servers.urls["COMMERCE_TEST_TEMPORAL_ADDRESS"]
        return Settings(
            environment="test", data_dir=self.data_dir, ports=self.ports, temporal_address=temporal
        )

    def start(self, name: str) -> None:
        """Start API or worker `name` (a worker is `worker:<queue>`); an API once it answers."""
        self.spawn(name)
        if name in self.ports:
            self._until_healthy(name)

    def spawn(self, name: str) -> None:
        queue = name.removeprefix("worker:")
        command = ["worker", queue] if name.startswith("worker:") else ["serve", name]
        log = (self.data_dir / "logs" / f"{name.replace(':', '-')}.log").open("ab")
        self.children[name] = subprocess.Popen(
            [str(Path(sys.executable).parent / "commerce"), *command],
            env={**os.environ, **self.environment},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self, name: str) -> None:
        """SIGKILL `name`: no shutdown, no flush, as a crash or an OOM kill."""
        child = self.children.pop(name)
        child.send_signal(signal.SIGKILL)
        child.wait()

    def start_all(self) -> None:
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.start("auth")  # first: it creates the service credentials and the admin the others use
        others = [n for n in APIS if n != "auth"]
        for name in (*others, *(f"worker:{q}" for q in WORKERS)):  # together: each takes seconds to load
            self.spawn(name)
        for name in others:
            self._until_healthy(name)

    def stop_all(self) -> None:
        for child in self.children.values():
            child.terminate()
        for child in self.children.values():
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children.clear()

    def _until_healthy(self, name: str, seconds: float = 300) -> None:
        url = f"http://127.0.0.1:{self.ports[name]}/health"
        deadline = time.monotonic() + seconds
        while True:
            child = self.children[name]
            if child.poll() is not None:
                raise RuntimeError(f"{name} exited with {child.returncode}: {self.log_tail(name)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer in {seconds}s: {self.log_tail(name)}")
            time.sleep(0.2)

    def log_tail(self, name: str, size: int = 3000) -> str:
        path = self.data_dir / "logs" / f"{name.replace(':', '-')}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else "(no log)"
