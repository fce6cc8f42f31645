"""The platform split into processes (`commerce dev --split`): every API, the gateway and every Temporal
worker as its own child (`commerce serve <name>`, `commerce worker <queue>`), supervised by one parent.

Children are named by what they run: the services by name (`auth` ... `gateway`), the workers
`worker-<queue>` (`worker-orders`). Each builds its `Settings()` from the COMMERCE_* variables that
`settings_env` derives from the parent's settings, so every child sees the same deployment.

    async with split_platform(settings, log_dir=tmp) as platform:
        os.kill(platform.pids["worker-orders"], signal.SIGKILL)   # or: await platform.kill("worker-orders")
        await platform.restart("worker-orders")                   # back, and answering

A test drives deaths itself; `supervise(restart=True)` (what `commerce dev --split` runs) instead restarts
a child that died, loudly, and gives up (stopping everything) once one dies `CRASH_LIMIT` times within
`CRASH_WINDOW` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from pydantic import BaseModel, SecretStr
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from commerce.platform import stop_signals, until_discoverable, until_stopped
from kit.settings import SERVICES, Settings
from kit.temporal import connect_temporal, dev_server
from workers import WORKERS
from workflows import sync_product

log = logging.getLogger("commerce")

READY_SECONDS = 240.0  # children's start to their first answers: twelve Pythons importing on a busy machine
STOP_GRACE = 10.0  # SIGTERM to SIGKILL
CRASH_LIMIT, CRASH_WINDOW = 3, 60.0  # deaths of one child within the window that stop the platform
POLL = 0.1


class ChildDied(Exception):
    """A child of the split platform exited while it was expected to run."""


def worker_name(queue: str) -> str:
    """The child (and service identity) name of the worker of `queue`."""
    return f"worker-{queue}"


def child_commands() -> dict[str, list[str]]:
    """Each child's name and its `commerce` arguments: services first, the gateway, then the workers."""
    services = {name: ["serve", name] for name in (*SERVICES, "gateway")}
    return services | {worker_name(queue): ["worker", queue] for queue in WORKERS}


def settings_env(settings: Settings) -> dict[str, str | None]:
    """`settings` as the COMMERCE_* variables a child builds the same `Settings()` from (None: unset it)."""
    variables: dict[str, str | None] = {}
    for name in Settings.model_fields:
        if name == "service_name":  # each child is its own service
            continue
        value = _plain(getattr(settings, name))
        text = value if isinstance(value, str) or value is None else json.dumps(value)
        variables[f"COMMERCE_{name.upper()}"] = text
    return variables


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    held: bool = False  # stopped on purpose (kill/stop): not a death to report
    deaths: list[float] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class SplitPlatform:
    """The children of one split platform: start, answer, kill, restart, stop (see the module's doc)."""

    def __init__(
        self, settings: Settings, *, log_dir: Path | None = None, ready_seconds: float = READY_SECONDS
    ) -> None:
        if settings.bus_url.startswith("memory:"):
            raise ValueError(
                "a memory:// bus reaches one process only: split the platform on sqlite:// or kafka://"
            )
        self.settings = settings
        self.log_dir = log_dir
        self.ready_seconds = ready_seconds
        self.children = {name: Child(name, args) for name, args in child_commands().items()}
        env = dict(os.environ)
        for variable, value in settings_env(settings).items():
            if value is None:
                env.pop(variable, None)
            else:
                env[variable] = value
        self.env = env
        self._temporal: Client | None = None

    @property
    def gateway(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port_of('gateway')}"

    @property
    def pids(self) -> dict[str, int]:
        """The pid of each running child, by name."""
        return {c.name: c.process.pid for c in self.children.values() if c.running and c.process}

    async def start(self, names: Iterable[str] | None = None) -> None:
        """Start the children `names` (all by default) and wait until each answers."""
        chosen = list(self.children if names is None else names)
        for name in chosen:
            self._spawn(self.children[name])
        await self.until_ready(chosen)
        await until_discoverable(self.settings)

    async def until_ready(self, names: Iterable[str], seconds: float | None = None) -> None:
        """Wait until each named child answers: a service its `/health`, a worker polls Temporal (within
        `seconds`, the platform's `ready_seconds` by default).
        """
        seconds = self.ready_seconds if seconds is None else seconds
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(timeout=2) as http:
            for name in names:
                child = self.children[name]
                while not await self._answers(http, child):
                    if not child.running:
                        raise ChildDied(f"{name} exited with {self._code(child)} before it answered")
                    if time.monotonic() > deadline:
                        raise ChildDied(f"{name} did not answer within {seconds:.0f} s")
                    await asyncio.sleep(POLL)

    async def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Send `sig` to child `name` and wait for it to exit; returns its exit code (-9 for SIGKILL)."""
        child = self.children[name]
        child.held = True
        if child.process is None:
            raise ChildDied(f"{name} was never started")
        if child.running:
            child.process.send_signal(sig)
        return await asyncio.to_thread(child.process.wait)

    async def restart(self, name: str) -> None:
        """Stop child `name` if it runs (SIGTERM), start it again and wait until it answers."""
        child = self.children[name]
        if child.running:
            await self._terminate([child])
        self._spawn(child)
        await self.until_ready([name])

    async def stop(self) -> None:
        """SIGTERM every child, the gateway first and the workers last; SIGKILL what outlives the grace."""
        await self._terminate([c for c in self.children.values() if c.running])

    async def supervise(self, *, restart: bool = True) -> None:
        """Watch the children; report each unplanned death loudly, then restart it (`restart`) or raise
        `ChildDied`. Also raises once a child dies `CRASH_LIMIT` times within `CRASH_WINDOW` seconds.
        """
        while True:
            for child in self.children.values():
                if child.held or child.process is None or child.running:
                    continue
                now = time.monotonic()
                child.deaths = [t for t in child.deaths if now - t < CRASH_WINDOW] + [now]
                message = f"{child.name} (pid {child.process.pid}) died with {self._code(child)}"
                log.error("CHILD DIED: %s%s", message, "; restarting it" if restart else "")
                if not restart:
                    raise ChildDied(message)
                if len(child.deaths) >= CRASH_LIMIT:
                    raise ChildDied(f"{message}: {CRASH_LIMIT} deaths within {CRASH_WINDOW:.0f} s, giving up")
                self._spawn(child)
                await self.until_ready([child.name])
                log.warning("child restarted: %s (pid %s)", child.name, self.pids.get(child.name))
            await asyncio.sleep(POLL)

    def _spawn(self, child: Child) -> None:
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{child.name}.log").open("ab")
        try:
            child.process = subprocess.Popen(
                [sys.executable, "-m", "commerce", *child.args],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                process_group=0,  # a terminal's Ctrl-C reaches the parent alone, which stops the children
                preexec_fn=_die_with_parent,
            )
        finally:
            if output is not None:
                output.close()
        child.held = False

    async def _answers(self, http: httpx.AsyncClient, child: Child) -> bool:
        if not child.running or child.process is None:
            return False
        if child.args[0] == "serve":
            url = f"http://{self.settings.host}:{self.settings.port_of(child.name)}/health"
            try:
                return (await http.get(url)).status_code == 200
            except httpx.HTTPError:
                return False
        return await self._polls(child.args[1], child.process.pid)

    async def _polls(self, queue: str, pid: int) -> bool:
        """Whether the worker process `pid` polls `queue` (its Temporal identity is `<pid>@<host>`)."""
        if queue == sync_product.TASK_QUEUE:
            queue = self.settings.catalog_task_queue or queue
        try:
            if self._temporal is None:
                self._temporal = await connect_temporal(self.settings)
            for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
                request = DescribeTaskQueueRequest(
                    namespace=self.settings.temporal_namespace,
                    task_queue=TaskQueue(name=queue),
                    task_queue_type=kind,
                )
                described = await self._temporal.workflow_service.describe_task_queue(request)
                if any(p.identity.startswith(f"{pid}@") for p in described.pollers):
                    return True
        except Exception:  # Temporal not up yet: not answering
            return False
        return False

    async def _terminate(self, children: list[Child]) -> None:
        order = {"gateway": 0} | dict.fromkeys(SERVICES, 1)
        children.sort(key=lambda c: order.get(c.name, 2))
        for child in children:
            child.held = True
            if child.process is not None and child.running:
                child.process.terminate()
        for child in children:
            assert child.process is not None
            try:
                await asyncio.to_thread(child.process.wait, STOP_GRACE)
            except subprocess.TimeoutExpired:
                log.warning("%s ignored SIGTERM for %.0f s: killed", child.name, STOP_GRACE)
                child.process.kill()
                await asyncio.to_thread(child.process.wait)

    @staticmethod
    def _code(child: Child) -> str:
        code = child.process.returncode if child.process else None
        if code is not None and code < 0:
            return f"signal {signal.Signals(-code).name}"
        return f"exit code {code}"


@contextlib.asynccontextmanager
async def split_platform(
    settings: Settings, *, log_dir: Path | None = None, ready_seconds: float = READY_SECONDS
) -> AsyncIterator[SplitPlatform]:
    """Every child of the split platform, started and answering (within `ready_seconds`); all stopped on
    exit. Temporal must answer at `settings.temporal_address` (see `kit.temporal.dev_server`).
    """
    platform = SplitPlatform(settings, log_dir=log_dir, ready_seconds=ready_seconds)
    try:
        await platform.start()
        yield platform
    finally:
        await platform.stop()


async def run_split_platform(settings: Settings, *, on_ready: Callable[[bool], None]) -> None:
    """`commerce dev --split`: a Temporal dev server (unless one answers), every child, then supervision
    (a dead child is restarted); returns after SIGINT/SIGTERM once every child has stopped.
    """
    with stop_signals() as stop:
        async with dev_server(settings) as started_temporal, split_platform(settings) as platform:
            on_ready(started_temporal)
            supervising = asyncio.create_task(platform.supervise(restart=True))
            signalled = await until_stopped(stop, [supervising])
            supervising.cancel()
            if not signalled:
                raise SystemExit(f"the platform stopped: {supervising.exception()}")


def _die_with_parent() -> None:
    """In the child, before exec: have Linux send SIGTERM when the parent dies (no orphans left serving)."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
