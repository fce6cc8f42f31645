"""The gateway's merged API description: schemas two services name alike are kept apart, every `$ref`
resolves, and every operation documents what the gateway itself may answer.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

from gateway.docs import GATEWAY_ERRORS, merge
from gateway.routes import ROUTES
from kit.settings import Settings


def _document(schema: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Item"}
    return {
        "paths": {
            "/{id}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": ref}}}}}}
        },
        "components": {"schemas": {"Item": schema, "Page": shared, "List": {"items": ref}}},
    }


def _refs(document: dict[str, Any]) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))


def test_schemas_named_alike_are_kept_apart_and_their_refs_follow() -> None:
    page = {"type": "object", "properties": {"total": {"type": "integer"}}}
    carts = _document({"type": "object", "properties": {"quantity": {"type": "integer"}}}, page)
    orders = _document({"type": "object", "properties": {"price": {"type": "string"}}}, page)
    merged = merge("t", {"carts": carts, "orders": orders, "search": None})
    schemas = merged["components"]["schemas"]
    assert schemas["carts_Item"]["properties"].keys() == {"quantity"}
    assert schemas["orders_Item"]["properties"].keys() == {"price"}
    assert "Item" not in schemas
    assert schemas["Page"] == page  # alike in both: one shared schema
    assert "List" not in schemas  # alike as text, but each points at its own Item
    assert schemas["carts_List"] == {"items": {"$ref": "#/components/schemas/carts_Item"}}
    assert schemas["orders_List"] == {"items": {"$ref": "#/components/schemas/orders_Item"}}
    ok = merged["paths"]["/carts/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/carts_Item"}
    ok = merged["paths"]["/orders/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/orders_Item"}
    assert _refs(merged) <= schemas.keys()
    assert merge("t", {"carts": carts, "orders": orders}) == merged  # the same names every time


def test_the_services_documents_merge_whole(settings: Settings) -> None:
    documents = {
        prefix: importlib.import_module(f"apis.{service}.app").create_app(settings).openapi()
        for prefix, service in ROUTES.items()
    }
    merged = merge("Commerce", documents)
    schemas = merged["components"]["schemas"]
    assert _refs(merged) <= schemas.keys()
    for prefix, document in documents.items():  # each service's schemas, under its name or prefixed
        for name, schema in document["components"]["schemas"].items():
            kept = schemas.get(f"{prefix}_{name}", schemas.get(name))
            assert kept == schema or name == "Error", (prefix, name)
    for path, operations in merged["paths"].items():
        assert "/internal/" not in f"{path}/"
        for method, operation in operations.items():
            statuses = {int(status) for status in operation["responses"]}
            assert set(GATEWAY_ERRORS) | {400} <= statuses, f"{method} {path}"
