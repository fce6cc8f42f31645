"""One API description for the whole platform: each service's OpenAPI document, paths under its prefix."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from gateway.routes import INTERNAL_SEGMENT, ROUTES
from kit.discovery import Registry
from kit.openapi import ERROR_SCHEMA, add_errors

log = logging.getLogger(__name__)


# What the gateway itself can answer on any route it forwards: its limits and its upstreams' failures.
GATEWAY_ERRORS = [413, 429, 502, 503, 504]
_SCHEMAS = "#/components/schemas/"


async def merged_openapi(client: httpx.AsyncClient, registry: Registry, title: str) -> dict[str, Any]:
    """Fetch every service's `/openapi.json` and merge them; a service that does not answer is left out."""
    documents = await asyncio.gather(*(_fetch(client, registry, service) for service in ROUTES.values()))
    return merge(title, dict(zip(ROUTES, documents, strict=True)))


def merge(title: str, documents: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """One document of the services' (`None`: did not answer), each path under its prefix. A schema name
    two services define differently becomes `<prefix>_<name>` in each, its `$ref`s rewritten, so neither
    overwrites the other; one they define alike (`Error`) stays shared.
    """
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": "0.1.0",
            "description": "Every service's routes as the gateway exposes them.",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    answered = {prefix: document for prefix, document in documents.items() if document is not None}
    renamed = _apart(answered)
    for prefix, document in renamed.items():
        merged["tags"].append({"name": prefix})
        for path, operations in document.get("paths", {}).items():
            if path in ("/health", "/ready") or f"/{INTERNAL_SEGMENT}/" in f"{path}/":
                continue
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation["tags"] = [prefix]
                    add_errors(operation, GATEWAY_ERRORS)
            merged["paths"][f"/{prefix}{path}".rstrip("/") or "/"] = operations
        components = document.get("components", {})
        merged["components"]["schemas"].update(components.get("schemas", {}))
        merged["components"]["securitySchemes"].update(components.get("securitySchemes", {}))
    merged["components"]["schemas"]["Error"] = ERROR_SCHEMA
    return merged


def _apart(documents: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The documents with each clashing schema name prefixed, until no two differ under one name: a schema
    alike in two services but pointing at a renamed one (`List` of `Item`) is renamed in its turn.
    """
    clashing: set[str] = set()
    while True:
        renamed = {
            prefix: _renamed(document, {name: f"{prefix}_{name}" for name in clashing})
            for prefix, document in documents.items()
        }
        seen: dict[str, Any] = {}
        found = set()
        for document in renamed.values():
            for name, schema in document.get("components", {}).get("schemas", {}).items():
                if seen.setdefault(name, schema) != schema:
                    found.add(name)
        if found <= clashing:  # none left (a prefixed name clashing too would loop for ever)
            return renamed
        clashing |= found


def _renamed(node: Any, renames: dict[str, str]) -> Any:
    """A copy of `node` with the schemas in `renames` (and every `$ref` to them) under their new names."""
    if isinstance(node, list):
        return [_renamed(item, renames) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(_SCHEMAS):
            name = value.removeprefix(_SCHEMAS)
            value = _SCHEMAS + renames.get(name, name)
        copy[key] = _renamed(value, renames)
    schemas = copy.get("components", {}).get("schemas")
    if isinstance(schemas, dict):  # the document itself: its definitions under their new names
        copy["components"]["schemas"] = {renames.get(name, name): value for name, value in schemas.items()}
    return copy


async def _fetch(client: httpx.AsyncClient, registry: Registry, service: str) -> dict[str, Any] | None:
    try:
        response = await client.get(f"{await registry.resolve(service)}/openapi.json", timeout=5)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document
    except Exception as exc:
        log.warning("no API description", extra={"upstream": service, "error": repr(exc)})
        return None
