"""Every service's OpenAPI document tells the truth about its errors: the 400 `Error` body it sends
instead of FastAPI's 422, and the 401/403/404/413 its routes can answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from apis.auth.app import create_app as auth
from apis.carts.app import create_app as carts
from apis.images.app import create_app as images
from apis.orders.app import create_app as orders
from apis.products.app import create_app as products
from apis.search.app import create_app as search
from gateway.app import create_app as gateway
from kit.settings import Settings

SERVICES: dict[str, Callable[[Settings], FastAPI]] = {
    "auth": auth,
    "carts": carts,
    "images": images,
    "orders": orders,
    "products": products,
    "search": search,
    "gateway": gateway,
}
ERROR = {"$ref": "#/components/schemas/Error"}


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_documents_the_errors_it_sends(settings: Settings, name: str) -> None:
    document = SERVICES[name](settings).openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Error"]["required"] == ["message"]
    for where, operation in _operations(document):
        responses = operation["responses"]
        assert "422" not in responses, where
        assert "400" in responses, where
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == ERROR, (where, status)
        security = operation.get("security", [])
        if security and {} not in security:  # a token is required
            assert {"401", "403"} <= responses.keys(), where
        elif security:  # a token is optional: a bad one is still refused
            assert "401" in responses, where
        else:
            assert "401" not in responses, where
        if "{" in where:
            assert "404" in responses, where
        if "requestBody" in operation:
            assert "413" in responses, where


def test_each_operation_says_whether_it_takes_a_token(settings: Settings) -> None:
    paths = products(settings).openapi()["paths"]
    health = paths["/health"]["get"]
    assert "security" not in health
    assert "401" not in health["responses"]
    listing = paths["/"]["get"]  # anyone; a token only changes what is shown
    assert listing["security"] == [{"HTTPBearer": []}, {}]
    assert {"400", "401"} <= listing["responses"].keys()
    assert "403" not in listing["responses"]
    delete = paths["/{product_id}"]["delete"]
    assert delete["security"] == [{"HTTPBearer": []}]
    assert {"400", "401", "403", "404"} <= delete["responses"].keys()


def test_the_undocumented_successes_are_documented(settings: Settings) -> None:
    cart = carts(settings).openapi()["paths"]
    assert {"200", "201"} <= cart["/"]["post"]["responses"].keys()
    assert {"200", "201"} <= cart["/{cartId}"]["get"]["responses"].keys()
    order = orders(settings).openapi()["paths"]["/"]["post"]["responses"]
    assert {"200", "201", "202", "402", "409"} <= order.keys()
