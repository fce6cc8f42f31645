"""The internal scopes matrix: every internal route of every service, called by every service identity and
by an administrator, admits exactly the identities `contracts.scopes` grants its scope (403 for the others);
and no internal route is left out of the matrix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from apis.auth.app import create_app as create_auth
from apis.carts import rules as cart_rules
from apis.carts.models import Cart
from apis.images.app import create_app as create_images
from apis.orders import rules as order_rules
from apis.orders.app import create_app as create_orders
from apis.orders.models import Order
from apis.products.app import create_app as create_products
from apis.search.app import create_app as create_search
from contracts import images, orders, products, search
from contracts.scopes import SERVICE_SCOPES
from kit.auth.principal import Principal
from kit.auth.services import SERVICE_TOKEN_PATH
from kit.settings import Settings
from tests.apis.products.conftest import Tokens
from tests.support import asgi_client, embedded_settings

IDENTITIES = ("carts", "products", "images", "orders", "catalog", "search", "reviews", "cli")
CALLERS = (*IDENTITIES, "admin")
VARIANT = str(uuid.uuid4())

#        service     method  path (template)                   admitted identities
MATRIX: list[tuple[str, str, str, set[str]]] = [
    ("products", "POST", products.VARIANT_DETAILS_PATH, {"carts", "orders"}),
    ("products", "POST", products.PRODUCT_DOCUMENTS_PATH, {"catalog", "search"}),
    ("products", "GET", products.PRODUCT_STAMPS_PATH, {"catalog", "search"}),
    ("products", "POST", products.IMAGE_USES_PATH, {"images"}),
    ("images", "GET", images.IMAGE_STATUS_PATH, {"products"}),
    ("products", "POST", products.STOCK_ADJUST_PATH, {"orders", "admin"}),  # staff with adjust:stock too
    ("orders", "POST", orders.STATUS_REPORT_PATH, {"orders"}),
    ("orders", "POST", orders.RETURN_SETTLED_PATH, {"orders"}),
    ("orders", "GET", orders.VERIFIED_PURCHASE_PATH, {"reviews"}),
    ("search", "POST", search.INDEX_PATH, {"catalog"}),
    ("search", "POST", search.DELETE_PATH, {"catalog"}),
    ("search", "POST", search.RECONCILE_PATH, {"catalog"}),
    ("search", "POST", search.REINDEX_PATH, {"cli"}),
    ("search", "GET", search.REINDEX_PATH, {"cli"}),
    ("auth", "POST", "/internal/resync-users", {"cli"}),
]
APPS: dict[str, Callable[[Settings], FastAPI]] = {
    "products": create_products,
    "images": create_images,
    "orders": create_orders,
    "search": create_search,
    "auth": create_auth,
}


def caller(tokens: Tokens, name: str) -> dict[str, str]:
    return tokens.headers(name if name == "admin" else f"service:{name}")


def test_every_identity_in_the_table_is_one_the_matrix_calls_as() -> None:
    assert set(SERVICE_SCOPES) == set(IDENTITIES)


@pytest.mark.parametrize("service", sorted(APPS))
async def test_every_identity_gets_past_an_internal_route_only_with_its_scope(
    tmp_path: Path, service: str
) -> None:
    settings = embedded_settings(tmp_path)
    app = APPS[service](settings)
    tokens = Tokens(settings.jwt_issuer)
    async with asgi_client(app) as client:
        app.state.token_verifier = tokens.verifier()  # auth sets its own at start-up
        for _, method, template, admitted in (row for row in MATRIX if row[0] == service):
            path = template.format(variant_id=VARIANT, orderId=VARIANT, returnId=VARIANT, name="gone.png")
            answers: dict[str, Any] = {}
            for name in CALLERS:
                body: dict[str, Any] | None = None if method == "GET" else {}
                response = await client.request(method, path, json=body, headers=caller(tokens, name))
                answers[name] = response.status_code != 403 or response.json()
            refused = {name for name, answer in answers.items() if answer is not True}
            assert refused == set(CALLERS) - admitted, (path, answers)


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_internal_route_is_in_the_matrix(tmp_path: Path, service: str) -> None:
    app = APPS[service](embedded_settings(tmp_path))
    internal = {
        f"{method} {route.path}"
        for route in iter_route_contexts(app.routes)  # app.routes holds included routers, not their routes
        if (route.path or "").startswith("/internal/")
        for method in route.methods or ()
        if route.path != SERVICE_TOKEN_PATH
    }
    listed = {f"{method} {path}" for owner, method, path, _ in MATRIX if owner == service}
    assert internal
    assert internal <= listed


def service(name: str) -> Principal:
    scopes = SERVICE_SCOPES[name]
    return Principal(f"service:{name}", "", name, "service", frozenset(), scopes)


def test_only_the_order_saga_uses_a_user_s_cart_and_acts_on_any_order() -> None:
    cart = Cart(id="c1", user_id="u1")
    order = cast(Order, SimpleNamespace(id=VARIANT, user_id="u1", guest_token_hash=None))
    assert {name for name in IDENTITIES if cart_rules.may_use(cart, service(name))} == {"orders"}
    assert {name for name in IDENTITIES if order_rules.may_read(order, service(name))} == {"orders"}
    assert {name for name in IDENTITIES if order_rules.may_cancel(order, service(name))} == {"orders"}
