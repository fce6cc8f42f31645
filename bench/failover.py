"""Failover through the gateway with Consul: two instances of one service, one killed, then the other.

    eval "$(deploy/local/infra env)"; python3 -m uv run python -m bench.failover [--interval 1s]

Two instances of the images service (`commerce serve images`, its own processes) register in Consul with
an HTTP health check every `--interval`; the gateway (`commerce serve gateway`) finds them there. Eight
clients read `/images/health` through the gateway without pause. One instance is killed (SIGKILL); the
script measures how long Consul takes to report it failing and counts the requests that failed before
and after that moment. Then the other is killed: every answer should be a 503 JSON. Timings are reported,
never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import consul.aio
import httpx

from bench.products_read import free_port, start

SERVICE = "images"
CLIENTS = 8


class Load:
    """Clients reading through the gateway, each answer recorded with its time."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.answers: list[tuple[float, int]] = []
        self.last_failure_body = ""
        self.running = True

    async def client(self) -> None:
        async with httpx.AsyncClient(base_url=self.gateway, timeout=10) as http:
            while self.running:
                try:
                    response = await http.get(f"/{SERVICE}/health")
                    status = response.status_code
                    if status != 200:
                        self.last_failure_body = response.text
                except httpx.HTTPError as exc:
                    status, self.last_failure_body = 0, repr(exc)
                self.answers.append((time.monotonic(), status))

    def since(self, moment: float, until: float = float("inf")) -> Counter[int]:
        return Counter(status for at, status in self.answers if moment <= at < until)


async def passing(registry: consul.aio.Consul) -> set[str]:
    _index, nodes = await registry.health.service(SERVICE, passing=True)
    return {node["Service"]["ID"] for node in nodes}


async def run(consul_url: str, interval: str, work: Path) -> None:
    parts = urlsplit(consul_url)
    registry = consul.aio.Consul(host=parts.hostname or "127.0.0.1", port=parts.port or 8500)
    discovery = f"{consul_url.split('?')[0]}?interval={interval}&timeout=1s&deregister=1m"
    ports = {"a": free_port(), "b": free_port(), "gateway": free_port()}
    base = os.environ | {
        "COMMERCE_DISCOVERY_URL": discovery,
        "COMMERCE_DATA_DIR": str(work),
        "COMMERCE_CACHE_URL": "memory://",
        "COMMERCE_BUS_URL": "memory://",
        "COMMERCE_TEMPORAL_ADDRESS": "127.0.0.1:1",
        "COMMERCE_LOG_LEVEL": "WARNING",
        "COMMERCE_RATE_LIMIT": json.dumps({"per_second": 0}),
    }

    def env(port: int, service: str) -> dict[str, str]:
        return base | {"COMMERCE_PORTS": json.dumps({service: port})}

    instances = {
        name: start(SERVICE, env(ports[name], SERVICE), ports[name], work / f"{name}.log") for name in "ab"
    }
    ids = {name: f"{SERVICE}-{os.uname().nodename}-{ports[name]}" for name in "ab"}
    gateway = start("gateway", env(ports["gateway"], "gateway"), ports["gateway"], work / "gateway.log")
    try:
        deadline = time.monotonic() + 60
        while await passing(registry) < set(ids.values()):  # both registered and checked once
            if time.monotonic() > deadline:
                raise SystemExit("the two instances never both passed their Consul check")
            await asyncio.sleep(0.2)
        load = Load(f"http://127.0.0.1:{ports['gateway']}")
        clients = [asyncio.create_task(load.client()) for _ in range(CLIENTS)]
        await asyncio.sleep(3)
        killed = time.monotonic()
        instances["a"].send_signal(signal.SIGKILL)
        while ids["a"] in await passing(registry):  # noqa: ASYNC110 (polling Consul is the measurement)
            await asyncio.sleep(0.05)
        noticed = time.monotonic()
        await asyncio.sleep(5)
        all_killed = time.monotonic()
        instances["b"].send_signal(signal.SIGKILL)
        await asyncio.sleep(3)
        load.running = False
        await asyncio.gather(*clients)
    finally:
        for process in (*instances.values(), gateway):
            if process.poll() is None:
                process.terminate()
                process.wait(30)
        await registry.close()
    before = load.since(0, killed)
    window = load.since(killed, noticed)
    after = load.since(noticed, all_killed)
    none_left = load.since(all_killed + 0.5)
    for process in instances.values():
        process.wait(30)
    print(f"Consul check interval {interval}; {CLIENTS} clients through the gateway")
    print(f"  before the kill:              {dict(before)}")
    print(f"  instance killed -> Consul reports it failing: {noticed - killed:.2f} s")
    print(f"  answers in that window:       {dict(window)}")
    print(f"  answers after Consul noticed: {dict(after)}")
    print(f"  both killed (after 0.5 s):    {dict(none_left)}; last body: {load.last_failure_body[:120]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--consul", default=os.environ.get("COMMERCE_TEST_CONSUL_URL", "consul://127.0.0.1:8500")
    )
    parser.add_argument("--interval", default="1s", help="the Consul health check's interval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        asyncio.run(run(args.consul, args.interval, Path(work)))


if __name__ == "__main__":
    main()
