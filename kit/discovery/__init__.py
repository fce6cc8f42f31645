"""The discovery port: services register and find healthy instances of each other (Consul in production)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import urlsplit

from kit.errors import Unavailable


@dataclass(frozen=True)
class Instance:
    """One running copy of a service, as registered."""

    name: str
    id: str
    host: str
    port: int
    health_path: str = "/health"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class ServiceNotFound(Unavailable):
    default_code = "ServiceUnavailable"


class Registry(Protocol):
    async def register(self, instance: Instance) -> None:
        """Announce `instance`; the registry checks its health from now on."""

    async def deregister(self, instance: Instance) -> None: ...

    async def resolve(self, name: str) -> str:
        """Base URL of a healthy instance of `name` (spreading calls); raise ServiceNotFound if none."""

    async def ping(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def open_registry(url: str, defaults: Mapping[str, str] | None = None) -> Registry:
    """The adapter for `url`: `static://[?name=http://host:port&...]` or `consul://host:port`.

    `defaults` gives the static registry each service's conventional URL, used when nothing registered.
    """
    scheme = urlsplit(url).scheme
    if scheme == "static":
        from kit.discovery.static import StaticRegistry

        return StaticRegistry(url, defaults or {})
    if scheme == "consul":
        from kit.discovery.consul import ConsulRegistry  # on demand: a process loads only its clients

        return ConsulRegistry(url)
    raise ValueError(f"unsupported DISCOVERY_URL scheme {scheme!r}")
