"""The platforms the scenario set is played against, each yielding its gateway, admin and bus.

- `embedded`: every API, the gateway and every worker in this process (`commerce.platform.serving`, as
  `commerce dev` runs them) on SQLite files, the SQLite bus and the embedded search engine, with a
  Temporal dev server of its own.
- `split`: every API and worker its own process (`commerce.split.split_platform`: `commerce serve <name>`,
  `commerce worker <queue>`) on the run's real servers (`deploy/local/infra env`: PostgreSQL, Kafka,
  Redis, Elasticsearch). Other runs share those servers, so the platform takes databases and a search
  alias of its own (dropped afterwards), static discovery (a shared Consul would mix two platforms'
  services) and a Temporal dev server of its own (a shared one would hand its sagas to another
  platform's workers polling the same task queues). Kafka's topics are the platform's own names: the
  events check reads them filtered by the run's keys.
- `url`: a platform already running (`COMMERCE_SCENARIO_URL`, admin and bus from the environment).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from commerce.split import ChildDied, split_platform
from kit.settings import SERVICES
from tests.e2e.conftest import open_shop
from tests.scenarios.runner import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD
from tests.scenarios.shop import Admin
from tests.support import (
    embedded_settings,
    free_port,
    real_server_url,
    scratch_databases,
    scratch_elastic_index,
    temporal_dev_server,
)

TARGETS = ("embedded", "split", "url")
UNLIMITED = {"per_second": 0}  # every shopper here comes from 127.0.0.1: tests/gateway test the limits
SPLIT_READY_SECONDS = 600  # ten Pythons importing at once: minutes on a shared, loaded 2-core machine


@dataclass(frozen=True)
class Target:
    name: str
    gateway: str
    admin: Admin
    bus_url: str | None


@contextlib.asynccontextmanager
async def open_target(name: str, workdir: Path) -> AsyncIterator[Target]:
    opener = {"embedded": embedded, "split": split, "url": url}.get(name)
    if opener is None:
        raise pytest.UsageError(f"COMMERCE_SCENARIO_TARGET={name}: one of {', '.join(TARGETS)}")
    async with opener(workdir) as target:
        yield target


@contextlib.asynccontextmanager
async def embedded(workdir: Path) -> AsyncIterator[Target]:
    with temporal_dev_server(workdir) as temporal:
        async with open_shop(temporal, workdir / "platform", bus_url="sqlite:///{data_dir}/bus.db") as shop:
            settings = shop.settings
            admin = Admin(settings.admin_email, settings.admin_password.get_secret_value())
            yield Target("embedded", str(shop.http.base_url).rstrip("/"), admin, settings.bus_url)


@contextlib.asynccontextmanager
async def split(workdir: Path) -> AsyncIterator[Target]:
    kafka = real_server_url("COMMERCE_TEST_KAFKA_URL")
    redis = real_server_url("COMMERCE_TEST_REDIS_URL")
    async with scratch_databases() as database_url, scratch_elastic_index() as search_url:
        with temporal_dev_server(workdir) as temporal:
            settings = embedded_settings(
                workdir / "platform",
                ports={name: free_port() for name in (*SERVICES, "gateway")},
                database_url=database_url,
                bus_url=kafka,
                cache_url=redis,
                search_url=search_url,
                temporal_address=temporal,
                rate_limit=UNLIMITED,
                strict_rate_limit=UNLIMITED,
                product_sync_debounce=0.2,
                order_answer_seconds=20,
                outbox_poll_interval=0.2,
                log_level="WARNING",
            )
            logs = workdir / "logs"
            try:
                async with split_platform(
                    settings, log_dir=logs, ready_seconds=SPLIT_READY_SECONDS
                ) as platform:
                    admin = Admin(settings.admin_email, settings.admin_password.get_secret_value())
                    yield Target("split", platform.gateway, admin, kafka)
            except ChildDied as died:
                raise ChildDied(f"{died}; the children's logs: {logs}\n{log_tails(logs)}") from died


@contextlib.asynccontextmanager
async def url(workdir: Path) -> AsyncIterator[Target]:
    gateway = os.environ.get("COMMERCE_SCENARIO_URL")
    if not gateway:
        pytest.fail("COMMERCE_SCENARIO_TARGET=url needs COMMERCE_SCENARIO_URL (the gateway's URL)")
    admin = Admin(
        os.environ.get("COMMERCE_SCENARIO_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL),
        os.environ.get("COMMERCE_SCENARIO_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD),
    )
    yield Target("url", gateway.rstrip("/"), admin, os.environ.get("COMMERCE_SCENARIO_BUS_URL") or None)


def log_tails(logs: Path, size: int = 1500) -> str:
    return "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-size:]}" for log in sorted(logs.glob("*.log"))
    )
