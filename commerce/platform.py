"""Running the platform: one service, one worker, or everything in one process (`commerce dev`; split into
processes, `commerce dev --split`, see commerce/split.py)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from temporalio.worker import Worker

from kit import metrics
from kit.discovery import ServiceNotFound, open_registry
from kit.infra import open_infra
from kit.logs import service_var
from kit.settings import SERVICES, Settings
from kit.temporal import dev_server, shared_client
from kit.web import UVICORN_OPTIONS
from workers import WORKERS

log = logging.getLogger("commerce")

APPS: dict[str, str] = {name: f"apis.{name}.app" for name in SERVICES} | {"gateway": "gateway.app"}


def app_factory(name: str) -> Callable[[Settings], FastAPI]:
    """Service `name`'s `create_app` (imported lazily: a service loads only its own code)."""
    if name not in APPS:
        raise SystemExit(f"unknown service {name!r}; choose one of: {', '.join(APPS)}")
    factory: Callable[[Settings], FastAPI] = importlib.import_module(APPS[name]).create_app
    return factory


def load_app(name: str, settings: Settings) -> FastAPI:
    """Build service `name`'s app for `settings`."""
    return app_factory(name)(settings.for_service(name))


def server_for(app: FastAPI, settings: Settings, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        lifespan="on",
        timeout_graceful_shutdown=5,
        **UVICORN_OPTIONS,
    )
    return _SharedSignalsServer(config)


class _SharedSignalsServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the platform, so several can share one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_worker(settings: Settings, queue: str) -> None:
    """Run the worker of `queue` until cancelled."""
    if queue not in WORKERS:
        known = ", ".join(WORKERS) or "none yet"
        raise SystemExit(f"unknown task queue {queue!r}; known: {known}")
    worker_settings = settings.for_service("gateway").model_copy(update={"service_name": f"worker-{queue}"})
    service_var.set(worker_settings.service_name)  # this task's log lines and spans name the worker
    port = settings.metrics_port if settings.metrics_enabled else None
    async with open_infra(worker_settings) as infra, metrics.serving(settings.host, port):
        client = await shared_client(settings)
        module = importlib.import_module(WORKERS[queue])
        if prepare := getattr(module, "prepare", None):  # what the queue needs in Temporal (schedules)
            await prepare(client, infra)
        worker: Worker = module.build_worker(client, infra)
        await worker.run()


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, queues: Iterable[str] | None = None
) -> AsyncIterator[list[asyncio.Task[Any]]]:
    """Every API, the gateway and the workers of `queues` (all by default) in this process; yields once
    all servers listen, with the running tasks (one ends only on failure), and stops everything on exit.
    """
    names = [*SERVICES, "gateway"]
    servers = [server_for(load_app(name, settings), settings, settings.port_of(name)) for name in names]
    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(s.serve(), name=f"serve:{n}") for s, n in zip(servers, names, strict=True)
    ]
    tasks += [
        asyncio.create_task(run_worker(settings, queue), name=f"worker:{queue}")
        for queue in (WORKERS if queues is None else queues)
    ]
    try:
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                raise SystemExit(_failure(tasks))
            await asyncio.sleep(0.05)
        yield tasks
    finally:
        for server in servers:
            server.should_exit = True
        for task in tasks:
            if task.get_name().startswith("worker:"):
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_platform(settings: Settings, *, on_ready: Callable[[bool], None]) -> None:
    """The embedded platform: Temporal dev server (unless one answers), then `serving`; returns after
    SIGINT/SIGTERM once everything has stopped.
    """
    with stop_signals() as stop:
        async with dev_server(settings) as started_temporal, serving(settings) as tasks:
            await until_discoverable(settings)
            on_ready(started_temporal)
            if not await until_stopped(stop, tasks):
                raise SystemExit(_failure(tasks))


@contextlib.contextmanager
def stop_signals() -> Iterator[asyncio.Event]:
    """An event that SIGINT or SIGTERM sets while the block runs: Ctrl-C stops the platform in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def until_stopped(stop: asyncio.Event, running: Iterable[asyncio.Future[Any]]) -> bool:
    """Wait for `stop` or for the first of `running` to end; True when it was `stop` (a signal)."""
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([stopped, *running], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    return stop.is_set()


async def until_discoverable(settings: Settings, seconds: float = 60) -> None:
    """Wait until discovery finds every service (Consul lists an instance once its first check passed)."""
    defaults = {name: f"http://{settings.host}:{settings.port_of(name)}" for name in SERVICES}
    deadline = asyncio.get_running_loop().time() + seconds
    async with open_registry(settings.discovery_url, defaults) as registry:
        for name in SERVICES:
            while True:
                try:
                    await registry.resolve(name)
                    break
                except ServiceNotFound:
                    if asyncio.get_running_loop().time() > deadline:
                        raise SystemExit(f"discovery never listed the {name} service") from None
                    await asyncio.sleep(0.2)


def _failure(tasks: list[asyncio.Task[Any]]) -> str:
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            return f"{task.get_name()} failed: {task.exception()!r}"
    return "a part of the platform stopped unexpectedly (see the log above)"
