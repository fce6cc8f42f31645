"""One API description for the whole platform: each service's OpenAPI document, paths under its prefix."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from gateway.routes import INTERNAL_SEGMENT, ROUTES
from kit.discovery import Registry

log = logging.getLogger(__name__)


async def merged_openapi(client: httpx.AsyncClient, registry: Registry, title: str) -> dict[str, Any]:
    """Fetch every service's `/openapi.json` and merge them; a service that does not answer is left out."""
    documents = await asyncio.gather(*(_fetch(client, registry, service) for service in ROUTES.values()))
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": "0.1.0",
            "description": "Every service's routes as the gateway exposes them.",
        },
        "paths": {},
        "components": {"schemas": {}},
        "tags": [],
    }
    for prefix, document in zip(ROUTES, documents, strict=True):
        if document is None:
            continue
        merged["tags"].append({"name": prefix})
        for path, operations in document.get("paths", {}).items():
            if path in ("/health", "/ready") or f"/{INTERNAL_SEGMENT}/" in f"{path}/":
                continue
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation["tags"] = [prefix]
            merged["paths"][f"/{prefix}{path}".rstrip("/") or "/"] = operations
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
    return merged


async def _fetch(client: httpx.AsyncClient, registry: Registry, service: str) -> dict[str, Any] | None:
    try:
        response = await client.get(f"{await registry.resolve(service)}/openapi.json", timeout=5)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document
    except Exception as exc:
        log.warning("no API description", extra={"upstream": service, "error": repr(exc)})
        return None
