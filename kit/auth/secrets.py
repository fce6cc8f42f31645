"""Secrets from configuration; outside production, generated once and kept as files under `data_dir`."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable

from pydantic import SecretStr

from kit.settings import Settings


class InsecureConfiguration(RuntimeError):
    """A secret was left to its development default where that is not allowed: the process must not start."""


def service_credential(settings: Settings, service_id: str) -> str:
    """The secret identity `service_id` trades for service tokens (`COMMERCE_SERVICE_CREDENTIALS`): one per
    identity, so that a service holding its own cannot pose as another.
    """
    return provisioned_secret(
        settings,
        settings.service_credentials.get(service_id),
        variable=f"COMMERCE_SERVICE_CREDENTIALS[{service_id!r}]",
        filename=f"service-credential-{service_id}",
        generate=lambda: secrets.token_urlsafe(32).encode(),
    ).decode()


def provisioned_secret(
    settings: Settings,
    configured: SecretStr | None,
    *,
    variable: str,
    filename: str,
    generate: Callable[[], bytes],
) -> bytes:
    """The configured secret; outside production, one generated on first use and kept under `data_dir`
    (so that tokens survive restarts and every process of a machine agrees); in production, refuse.
    """
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    if settings.environment == "production":
        raise InsecureConfiguration(f"{variable} must be set in production (refusing a generated secret).")
    path = settings.data_dir / filename
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write aside then link into place: a concurrent process either wins the link or reads the winner's file.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{filename}.", delete=False) as draft:
        draft.write(generate())
    try:
        os.chmod(draft.name, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(draft.name, path)
    finally:
        os.unlink(draft.name)
    return path.read_bytes()
