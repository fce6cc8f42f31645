"""The platform under load, started as a user starts it: `commerce dev` (embedded) or `commerce dev --split`
on the real servers already running (`deploy/local/infra env`), as a child process; or a URL, started by
someone else.

Whatever it starts is its own: free ports, a Temporal dev server of its own (on a free port), a fresh data
dir and, on the real servers, fresh databases (`load_<run>_<service>`) and search index (`load-<run>`),
dropped afterwards. Discovery is static (Consul is shared: another platform's services answer there under
the same names). The edge's rate limits are off and the login limiter's per-address ceiling raised: the
load generator is one address standing for 160 shoppers. Kafka's topics are the platform's own names
(shared with any other platform on those servers; the audit reads only this run's orders).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from commerce.cli import INFRA_SCRIPT, infra_settings
from kit.settings import DATABASE_SERVICES, SERVICES

ADMIN = ("load-admin@commerce.local", "load-admin-password")
READY_SECONDS = 300.0
START_TRIES = 3
STOP_SECONDS = 30.0


@dataclass
class Target:
    """A platform to load: its gateway, its admin, and where the audit reads its events (None: not read)."""

    kind: str
    gateway: str
    admin: tuple[str, str] = ADMIN
    bus_url: str | None = None
    pid: int | None = None  # the platform's process (its children are its own)
    log: Path | None = None


def free_port() -> int:
    """A port free now, outside the kernel's ephemeral range (where an outgoing connection may take it)."""
    while True:
        port = random.randrange(15_000, 30_000)
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.bind(("127.0.0.1", port))
            return port


def real_servers() -> dict[str, str]:
    """The COMMERCE_TEST_* URLs `deploy/local/infra env` prints (the servers must be running)."""
    printed = subprocess.run([INFRA_SCRIPT, "env"], check=True, capture_output=True, text=True).stdout
    return dict(
        line.removeprefix("export ").split("=", 1)
        for line in printed.splitlines()
        if line.startswith("export ")
    )


async def _databases(postgres: str, names: list[str], *, create: bool) -> None:
    import asyncpg

    admin = await asyncpg.connect(f"{postgres}/postgres")
    try:
        for name in names:
            if create:
                await admin.execute(f'CREATE DATABASE "{name}"')
            else:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _drop_index(elastic: str, alias: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.delete(f"{elastic}/{alias}-*", timeout=30)


@contextlib.asynccontextmanager
async def started(kind: str, work: Path, *, url: str | None = None) -> AsyncIterator[Target]:
    """The platform of `kind` (`embedded`, `split` or `url`), answering, until the block ends."""
    if kind == "url":
        assert url, "--target url needs --url"
        yield Target("url", url.rstrip("/"))
        return
    run = uuid.uuid4().hex[:10]
    ports = {name: free_port() for name in (*SERVICES, "gateway")}
    data = work / "data"
    env = {
        "COMMERCE_DATA_DIR": str(data),
        "COMMERCE_PORTS": json.dumps(ports),
        "COMMERCE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "COMMERCE_TEMPORAL_UI_PORT": str(free_port()),
        "COMMERCE_DEMO_CATALOG": "0",  # the catalog is the runner's
        "COMMERCE_ADMIN_EMAIL": ADMIN[0],
        "COMMERCE_ADMIN_PASSWORD": ADMIN[1],
        "COMMERCE_RATE_LIMIT": json.dumps({"per_second": 0}),
        "COMMERCE_STRICT_RATE_LIMIT": json.dumps({"per_second": 0}),
        "COMMERCE_LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
        "COMMERCE_LOG_LEVEL": "WARNING",
    }
    bus_url = f"sqlite:///{data}/bus.db"
    databases: list[str] = []
    servers: dict[str, str] = {}
    if kind == "split":
        servers = real_servers()
        databases = [f"load_{run}_{service}" for service in DATABASE_SERVICES]
        await _databases(servers["COMMERCE_TEST_POSTGRES_URL"], databases, create=True)
        env |= infra_settings(servers, database=f"load_{run}_{{service}}")
        env["COMMERCE_SEARCH_URL"] = f"{servers['COMMERCE_TEST_ELASTIC_URL']}/load-{run}"
        env["COMMERCE_DISCOVERY_URL"] = "static://"
        bus_url = env["COMMERCE_BUS_URL"]
    elif kind != "embedded":
        raise ValueError(f"unknown target {kind!r}: embedded, split or url")
    log = work / "platform.log"
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    platform = None
    try:
        platform = await _start(["dev", *(["--split"] if kind == "split" else [])], env, log, gateway)
        yield Target(kind, gateway, bus_url=bus_url, pid=platform.pid, log=log)
    finally:
        if platform is not None:
            _stop(platform)
        if databases:
            await _databases(servers["COMMERCE_TEST_POSTGRES_URL"], databases, create=False)
            _drop_index(servers["COMMERCE_TEST_ELASTIC_URL"], f"load-{run}")


async def _start(args: list[str], env: dict[str, str], log: Path, gateway: str) -> subprocess.Popen[bytes]:
    """The platform, answering; a start that fails is tried again on a fresh data dir, up to START_TRIES
    (on a loaded machine, `commerce dev` on a fresh data dir may fail its start: SQLite's "database is
    locked" as the services open the embedded bus together).
    """
    for attempt in range(1, START_TRIES + 1):
        shutil.rmtree(env["COMMERCE_DATA_DIR"], ignore_errors=True)
        platform = _launch(args, env, log)
        try:
            await _until_up(platform, gateway, log)
            return platform
        except RuntimeError as error:
            _stop(platform)
            if attempt == START_TRIES:
                raise
            print(f"start {attempt} failed, trying again: {str(error)[-300:]}", file=sys.stderr)
    raise AssertionError("unreachable")


async def _until_up(platform: subprocess.Popen[bytes], gateway: str, log: Path) -> None:
    """Until the banner is printed (every part answers), or fail with the log's tail."""
    deadline = time.monotonic() + READY_SECONDS
    while not _banner_in(log):
        if platform.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the platform did not start: {_tail(log)}")
        await asyncio.sleep(0.5)
    async with httpx.AsyncClient(timeout=10) as http:
        (await http.get(f"{gateway}/health")).raise_for_status()


def _launch(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`commerce <args>` in a session of its own (so a Ctrl-C reaches it alone), its output to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "commerce"), *args],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _banner_in(log: Path) -> bool:
    return "Commerce platform is up" in log.read_text(errors="replace")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _stop(platform: subprocess.Popen[bytes]) -> None:
    """Ctrl-C as a user stops it (SIGINT to the whole group), SIGKILL if it lingers."""
    if platform.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(platform.pid, signal.SIGINT)
        try:
            platform.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(platform.pid, signal.SIGKILL)
            platform.wait()
