"""Consul adapter (py-consul): each instance registers with an HTTP health check; lookups see only
passing instances, kept fresh by a blocking query per service, and spread round-robin.

URL: `consul://host:8500[?interval=10s&timeout=5s&deregister=30s]` (the check's timings).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import consul
import consul.aio

from kit.discovery import Instance, ServiceNotFound

log = logging.getLogger(__name__)


class ConsulRegistry:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self._check_timing = {
            "interval": options.get("interval", "10s"),
            "timeout": options.get("timeout", "5s"),
            "deregister": options.get("deregister", "30s"),
        }
        self._consul = consul.aio.Consul(host=parts.hostname or "127.0.0.1", port=parts.port or 8500)
        self._healthy: dict[str, list[str]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._turns = itertools.count()

    async def register(self, instance: Instance) -> None:
        check = consul.Check.http(f"{instance.url}{instance.health_path}", **self._check_timing)
        await self._consul.agent.service.register(
            instance.name,
            service_id=instance.id,
            address=instance.host,
            port=instance.port,
            tags=[instance.name],
            check=check,
        )

    async def deregister(self, instance: Instance) -> None:
        await self._consul.agent.service.deregister(instance.id)

    async def resolve(self, name: str) -> str:
        if name not in self._watchers:
            index, nodes = await self._consul.health.service(name, passing=True)
            self._healthy[name] = _urls(nodes)
            self._watchers[name] = asyncio.create_task(self._watch(name, index), name=f"consul:{name}")
        urls = self._healthy.get(name) or []
        if not urls:
            raise ServiceNotFound(f"Service '{name}' unavailable.")
        return urls[next(self._turns) % len(urls)]

    async def _watch(self, name: str, index: Any) -> None:
        """Blocking queries: Consul answers when the healthy set changes (or after `wait`)."""
        while True:
            try:
                index, nodes = await self._consul.health.service(name, passing=True, index=index, wait="30s")
                self._healthy[name] = _urls(nodes)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consul watch failed", extra={"upstream": name, "error": repr(exc)})
                await asyncio.sleep(1)

    async def ping(self) -> None:
        if not await self._consul.status.leader():
            raise ConnectionError("Consul has no leader")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in self._watchers.values():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._watchers.values(), return_exceptions=True)
        await self._consul.close()


def _urls(nodes: list[dict[str, Any]]) -> list[str]:
    urls = []
    for node in nodes:
        service = node["Service"]
        host = service.get("Address") or node["Node"]["Address"]
        urls.append(f"http://{host}:{service['Port']}")
    return urls
