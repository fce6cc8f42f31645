"""Every service's OpenAPI document tells the truth about its errors: the 400 `Error` body it sends
instead of FastAPI's 422, and the 401/403/404/413 its routes can answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs; the tests only validate with it
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from apis.auth.app import create_app as auth
from apis.carts.app import create_app as carts
from apis.images.app import create_app as images
from apis.orders.app import create_app as orders
from apis.products.app import create_app as products
from apis.reviews.app import create_app as reviews
from apis.search.app import create_app as search
from apis.stats.app import create_app as stats
from contracts.currencies import AMOUNT_SENT_PATTERN
from gateway.app import TITLE
from gateway.app import create_app as gateway
from gateway.docs import merge
from kit.schemas import MONEY_PATTERN, MONEY_SENT_PATTERN, Email, Money
from kit.settings import Settings
from tests.support import asgi_client

SERVICES: dict[str, Callable[[Settings], FastAPI]] = {
    "auth": auth,
    "carts": carts,
    "images": images,
    "orders": orders,
    "products": products,
    "search": search,
    "stats": stats,
    "reviews": reviews,
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
    assert health["security"] == []
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


def _merged(settings: Settings) -> dict[str, Any]:
    """The gateway's document, merged from every service's as `/openapi.json` merges them."""
    return merge(
        TITLE, {name: create(settings).openapi() for name, create in SERVICES.items() if name != "gateway"}
    )


@pytest.mark.parametrize("name", [*SERVICES, "merged"])
def test_every_operation_says_which_token_it_takes_by_a_scheme_the_document_defines(
    settings: Settings, name: str
) -> None:
    document = _merged(settings) if name == "merged" else SERVICES[name](settings).openapi()
    schemes = document.get("components", {}).get("securitySchemes", {})
    for where, operation in _operations(document):
        assert "security" in operation, f"{where}: no token or a token? the document must say"
        for requirement in operation["security"]:
            assert requirement.keys() <= schemes.keys(), where
    if name in ("merged", "products"):
        assert schemes["HTTPBearer"] == {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["HTTPBearer"]["description"],
        }


def test_the_routes_that_read_no_token_say_so(settings: Settings) -> None:
    paths = _merged(settings)["paths"]
    for path, method in [
        ("/auth/register", "post"),
        ("/auth/login", "post"),
        ("/orders/guest-lookup", "post"),
        ("/search/products", "get"),
        ("/products/categories", "get"),
    ]:
        assert paths[path][method]["security"] == [], path
    assert paths["/orders"]["post"]["security"] == [{"HTTPBearer": []}, {}]  # a guest or a customer
    assert paths["/orders/my-orders"]["get"]["security"] == [{"HTTPBearer": []}]


ADDRESS = {"street": "1 Main St", "city": "Lyon", "postalCode": "69001", "country": "FR"}
ORDER = {"shippingAddress": ADDRESS, "phone": "0612345678", "paymentMethod": "CASH_ON_DELIVERY"}
ITEMS = {"items": [{"variantId": "v-1", "quantity": 1}]}
CART = {"cartId": "00000000-0000-4000-8000-000000000000"}


async def test_an_order_from_items_or_a_cart_but_not_both_nor_neither_is_documented_and_enforced(
    settings: Settings,
) -> None:
    app = orders(settings)
    document = app.openapi()
    schema = {**document["components"]["schemas"]["OrderCreate"], "components": document["components"]}
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    async with asgi_client(app) as client:
        for body, valid in [
            (ORDER | ITEMS, True),
            (ORDER | CART, True),
            (ORDER | CART | {"items": None}, True),
            (ORDER | ITEMS | CART, False),
            (ORDER, False),
            (ORDER | {"items": None, "cartId": None}, False),
        ]:
            assert validator.is_valid(body) == valid, body
            if not valid:
                response = await client.post("/", json=body)
                assert response.status_code == 400, (body, response.text)
                assert "either items or cartId" in response.json()["message"]


def _property(document: dict[str, Any], schema: str, name: str) -> dict[str, Any]:
    return _text(document["components"]["schemas"][schema]["properties"][name])


def _text(found: dict[str, Any]) -> dict[str, Any]:
    """The string one of a schema's `anyOf` (however deep), or the schema."""
    for one in found.get("anyOf", []):
        text = _text(one)
        if text.get("type") == "string":
            return text
    return found


def test_the_emails_read_as_emails_are_documented_as_emails(settings: Settings) -> None:
    account, order = auth(settings).openapi(), orders(settings).openapi()
    for document, schema, name in [
        (account, "UserRegister", "email"),
        (account, "UserInvite", "email"),
        (order, "OrderCreate", "guestEmail"),
        (order, "GuestLookup", "email"),
    ]:
        assert _property(document, schema, name)["format"] == "email", (schema, name)
    assert "format" not in _property(account, "Login", "email")  # any text: an unknown one is a 401


@given(st.emails())
@hypothesis_settings(max_examples=300, deadline=None)
def test_every_address_the_format_allows_is_accepted(address: str) -> None:
    """What schemathesis sends as `format: email` (hypothesis' `emails()`) the services take."""
    assert TypeAdapter(Email).validate_python(address) == address.lower()


MONEY_FIELDS = {"price", "costPrice", "subtotal", "totalAmount", "displayTotalAmount", "priceAtTimeOfOrder"}


@pytest.mark.parametrize("name", ["products", "carts", "orders", "search"])
def test_every_price_is_documented_as_a_decimal_string(settings: Settings, name: str) -> None:
    document = SERVICES[name](settings).openapi()
    found = 0
    for schema, definition in document["components"]["schemas"].items():
        for field_name in MONEY_FIELDS & definition.get("properties", {}).keys():
            text = _property(document, schema, field_name)
            answered = schema.endswith("-Output") or ("Create" not in schema and "Update" not in schema)
            sent = (MONEY_SENT_PATTERN, AMOUNT_SENT_PATTERN)  # base prices; prices in the currency asked for
            assert text["pattern"] in (sent if answered else (MONEY_PATTERN,)), (
                schema,
                field_name,
            )
            found += 1
    for operation in (operation for _, operation in _operations(document)):
        for parameter in operation.get("parameters", []):
            if parameter["name"] in ("minPrice", "maxPrice"):
                assert _text(parameter["schema"])["pattern"] == MONEY_PATTERN
                found += 1
    assert found >= 2


@given(st.from_regex(MONEY_PATTERN, fullmatch=True))
@hypothesis_settings(max_examples=300, deadline=None)
def test_every_price_the_pattern_allows_is_accepted_and_sent_back_with_two_decimals(text: str) -> None:
    money = TypeAdapter(Money)
    sent = money.dump_python(money.validate_python(text), mode="json")
    assert re.match(MONEY_SENT_PATTERN, sent), sent
    assert Decimal(sent) == Decimal(text)


@pytest.mark.parametrize(
    "text", ["-1", "+1", "1e2", " 1.5", "1.500", "NaN", "Infinity", "0x10", "1.", ".5", "1,5"]
)
def test_a_price_the_pattern_refuses_is_refused(text: str) -> None:
    assert not re.match(MONEY_PATTERN, text)
    with pytest.raises(ValidationError):
        TypeAdapter(Money).validate_python(text)
