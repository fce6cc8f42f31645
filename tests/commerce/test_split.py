"""The split platform: every API and worker its own process, as `commerce dev --split` and tests run it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from commerce.split import SplitPlatform, child_commands, settings_env, split_platform
from kit.settings import SERVICES, RateLimit, Settings
from tests.e2e.conftest import Shop
from tests.support import embedded_settings, free_port, temporal_dev_server
from tests.test_platform import Platform

CHILDREN = {
    "auth",
    "products",
    "images",
    "search",
    "carts",
    "orders",
    "stats",
    "reviews",
    "gateway",
    "worker-users",
    "worker-orders",
    "worker-catalog",
}


def children_of(parent: int) -> dict[str, int]:
    """The `commerce serve <name>` / `commerce worker <queue>` children of `parent`, by child name."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, IndexError):
            continue
        if ppid == parent and "commerce" in words:
            kind, name = words[words.index("commerce") + 1 : words.index("commerce") + 3]
            found[name if kind == "serve" else f"worker-{name}"] = int(entry.name)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


class TestSettingsEnv:
    def test_a_child_builds_the_same_settings_from_the_variables(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings = Settings(
            data_dir=tmp_path,
            ports={"gateway": 4100, "orders": 4107},
            rate_limit=RateLimit(per_second=0),
            upstream_timeouts={"orders": 12.5},
            trusted_proxies=["10.0.0.0/8"],
            admin_password="s3cret!",
            service_credentials={"orders": "abc"},
            auto_migrate=False,
            environment="test",
        )
        for variable, value in settings_env(settings).items():
            if value is None:
                monkeypatch.delenv(variable, raising=False)
            else:
                monkeypatch.setenv(variable, value)
        assert Settings() == settings

    def test_unset_settings_are_removed_from_the_environment(self) -> None:
        assert settings_env(Settings())["COMMERCE_JWT_PRIVATE_KEY"] is None
        assert "COMMERCE_SERVICE_NAME" not in settings_env(Settings())

    def test_every_service_and_every_worker_is_a_child(self) -> None:
        assert set(child_commands()) == CHILDREN


@pytest.mark.slow
def test_commerce_dev_split_restarts_a_dead_child_and_stops_every_child(tmp_path: Path) -> None:
    platform = Platform(tmp_path / "data")
    process = platform.start("--split")
    try:
        banner = Platform.wait_for_banner(process, timeout=300)
        assert platform.gateway in banner
        assert "one per API and worker" in banner
        children = children_of(process.pid)
        assert set(children) == CHILDREN
        health = httpx.get(f"{platform.gateway}/health").json()
        assert set(health["upstreams"].values()) == {"UP"}

        os.kill(children["orders"], signal.SIGKILL)
        deadline = time.monotonic() + 90
        while children_of(process.pid).get("orders", children["orders"]) == children["orders"]:
            assert time.monotonic() < deadline, "the orders service was not restarted"
            time.sleep(0.2)
        while httpx.get(f"{platform.gateway}/orders/ready").status_code != 200:
            assert time.monotonic() < deadline, "the restarted orders service does not answer"
            time.sleep(0.2)
        output = "".join(Platform.outputs[process.pid])
        assert f"orders (pid {children['orders']}) died with signal SIGKILL; restarting it" in output
        assert alive(children["auth"])  # the others went on
        survivors = children_of(process.pid)
    finally:
        exit_code = Platform.stop(process)
    assert exit_code == 0
    assert [name for name, pid in survivors.items() if alive(pid)] == []


@pytest.mark.slow
async def test_a_test_kills_a_worker_and_restarts_it_and_orders_go_on(tmp_path: Path) -> None:
    ports = {name: free_port() for name in (*SERVICES, "gateway")}
    with temporal_dev_server(tmp_path) as temporal:
        settings = embedded_settings(
            tmp_path / "data",
            temporal_address=temporal,
            ports=ports,
            bus_url=f"sqlite:///{tmp_path}/data/bus.db",
            cache_url="memory://",
            rate_limit={"per_second": 0},
            strict_rate_limit={"per_second": 0},
            order_answer_seconds=20,
        )
        async with split_platform(settings, log_dir=tmp_path / "logs") as split:
            assert set(split.pids) == CHILDREN
            assert await split.kill("worker-orders") == -signal.SIGKILL
            assert "worker-orders" not in split.pids
            await split.restart("worker-orders")
            async with httpx.AsyncClient(base_url=split.gateway, timeout=30) as http:
                password = settings.admin_password.get_secret_value()
                admin = await Shop(http, settings, {}).login(settings.admin_email, password)
                shop = Shop(http, settings, admin)
                product, variant = await shop.product(stock=3)
                placed = await shop.order(variant)
                assert placed.status_code == 201, placed.text
                assert placed.json()["status"] == "CONFIRMED"
                assert await shop.stock(product, variant) == 2
        pids = list(split.pids.values())
    assert pids == []


def test_a_memory_bus_is_refused_it_would_not_cross_processes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="memory://"):
        SplitPlatform(embedded_settings(tmp_path))
