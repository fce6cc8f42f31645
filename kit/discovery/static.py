"""Discovery without a registry server: instances registered in this process, else fixed URLs.

`static://?auth=http://10.0.0.5:3001` pins a service; otherwise the conventional URL from settings is used.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from kit.discovery import Instance, ServiceNotFound

# Instances registered by the services of this process (the embedded platform runs them all in one).
_registered: dict[str, dict[str, Instance]] = {}
_turns = itertools.count()


class StaticRegistry:
    def __init__(self, url: str = "static://", defaults: Mapping[str, str] | None = None) -> None:
        self._fixed = {**(defaults or {}), **dict(parse_qsl(urlsplit(url).query))}

    async def register(self, instance: Instance) -> None:
        _registered.setdefault(instance.name, {})[instance.id] = instance

    async def deregister(self, instance: Instance) -> None:
        _registered.get(instance.name, {}).pop(instance.id, None)

    async def resolve(self, name: str) -> str:
        if instances := list(_registered.get(name, {}).values()):
            return instances[next(_turns) % len(instances)].url
        if name in self._fixed:
            return self._fixed[name].rstrip("/")
        raise ServiceNotFound(f"Service '{name}' unavailable.")

    async def ping(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None
