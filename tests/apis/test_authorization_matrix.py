"""The authorization matrix of the products, images, search, carts, orders, stats and reviews services: every
route, called by anonymous, a customer, another customer, each staff role of the seed, admin and each service
identity, admits exactly the callers of its row; a refused caller gets 401 (anonymous) or 403 before any
validation, or 404 when the route hides someone else's cart or order (a review is public: a 403). Each row's
guard is also checked against the dependency the route declares, and a route without a row fails. The auth
service has its own matrix (tests/apis/auth/test_authorization.py), on accounts it stores itself.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from apis.auth import seed
from apis.auth.reads import ADMIN
from apis.carts.app import create_app as create_carts
from apis.carts.dependencies import get_catalog
from apis.carts.models import Cart, CartItem
from apis.carts.service import cart_key
from apis.images.app import create_app as create_images
from apis.orders.app import create_app as create_orders
from apis.orders.models import Order, ReturnRequest
from apis.products.app import create_app as create_products
from apis.reviews.app import create_app as create_reviews
from apis.reviews.models import ProductCopy, Review
from apis.search.app import create_app as create_search
from apis.stats.app import create_app as create_stats
from contracts import reviews, scopes, stats
from contracts.orders import OrderStatus, PaymentMethod
from contracts.scopes import SERVICE_SCOPES
from kit import db
from kit.auth.services import SERVICE_ROLE
from kit.cache import open_cache
from kit.settings import Settings
from tests.apis.carts.test_service import FakeCatalog, variant
from tests.apis.products.conftest import Tokens
from tests.figures import record
from tests.support import asgi_client, embedded_settings

# Users by caller name: the role of the seed they hold (`other` is a second customer).
USERS = {"customer": "Customer", "other": "Customer", "supervisor": "Supervisor", "support": "Support"}
USERS |= {"auditor": "Auditor", "admin": ADMIN}
SERVICES = tuple(f"service:{identity}" for identity in SERVICE_SCOPES)
CALLERS = ("anonymous", *USERS, *SERVICES)
EVERYONE = frozenset(CALLERS)
SIGNED_IN = EVERYONE - {"anonymous"}
USERS_ONLY = frozenset(USERS)  # a user route needs a user: a service token is no one's


def user_id(caller: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, caller))


def holders(permission: str) -> frozenset[str]:
    """The users whose seed role grants `permission` (services hold no permission)."""
    return frozenset(name for name, role in USERS.items() if permission in seed.ROLES[role][1])


def identities(scope: str) -> frozenset[str]:
    return frozenset(f"service:{name}" for name, granted in SERVICE_SCOPES.items() if scope in granted)


def admitted_by(guard: str) -> frozenset[str]:
    """The callers a guard admits: `public`, `user` (users), `caller` (users and services),
    `perm:<permission>` or `scope:<scope>`.
    """
    kind, _, name = guard.partition(":")
    admits = {"public": EVERYONE, "user": USERS_ONLY, "caller": SIGNED_IN}
    return admits.get(kind) or {"perm": holders(name), "scope": identities(name)}[kind]


@dataclass(frozen=True)
class Row:
    service: str
    method: str
    path: str
    guard: str  # what the route declares (checked against its dependencies)
    admitted: frozenset[str] | None = None  # when the endpoint decides further: who gets in
    owned: str = ""  # "cart", "order", "return_request": the path names one of the customer's, refused as 404
    body: dict[str, Any] | None = None  # when a refused caller is only told after validation
    upstream: bool = False  # an admitted call goes on to another service: 503 UpstreamUnavailable here
    hidden: bool = True  # False: another's owned resource is public (a review), refused as 403 all the same

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    @property
    def expected(self) -> frozenset[str]:
        return admitted_by(self.guard) if self.admitted is None else self.admitted


# The cart and order rules: the owner, staff holding the right permission, and the order saga.
CART_USERS = frozenset({"customer", *holders("write:user"), *identities(scopes.USE_ANY_CART)})
ORDER_READERS = frozenset({"customer", *holders("read:order"), *identities(scopes.REPORT_ORDER_STATUS)})
ORDER_CANCELLERS = frozenset({"customer", *holders("update:order"), *identities(scopes.REPORT_ORDER_STATUS)})
RETURN_READERS = frozenset({"customer", *holders("read:returns")})
RETURN_COMMENTERS = frozenset({"customer", *holders("write:returns")})
COMMENT = {"commentText": "Is the box needed?"}
REVIEW_DELETERS = frozenset({"customer", *holders(reviews.MODERATE_REVIEW)})
STOCK_ADJUSTERS = holders("adjust:stock") | identities(scopes.ADJUST_STOCK)
ADJUSTMENT = {"changeQuantity": 1, "type": "ADJUSTMENT"}
LINE = {"variantId": "v1", "quantity": 1}

MATRIX = [
    Row("products", "GET", "/categories", "public"),
    Row("products", "GET", "/categories/id/{category_id}", "public"),
    Row("products", "GET", "/categories/slug/{slug}", "public"),
    Row("products", "POST", "/categories", "perm:create:category"),
    Row("products", "PUT", "/categories/{category_id}", "perm:update:category"),
    Row("products", "DELETE", "/categories/{category_id}", "perm:delete:category"),
    Row("products", "GET", "/currencies", "public"),
    Row("products", "GET", "/currencies/{code}", "public"),
    Row("products", "POST", "/currencies", "perm:write:currency"),
    Row("products", "PUT", "/currencies/{code}", "perm:write:currency"),
    Row("products", "GET", "/promotions", "public"),
    Row("products", "PUT", "/promotions/reorder", "perm:write:promotion"),
    Row("products", "GET", "/promotions/all", "perm:read:promotion"),
    Row("products", "POST", "/promotions", "perm:write:promotion"),
    Row("products", "GET", "/promotions/{promotion_id}", "perm:read:promotion"),
    Row("products", "PUT", "/promotions/{promotion_id}", "perm:write:promotion"),
    Row("products", "DELETE", "/promotions/{promotion_id}", "perm:write:promotion"),
    Row("products", "POST", "/stock/adjust/{variant_id}", "caller", STOCK_ADJUSTERS, body=ADJUSTMENT),
    Row("products", "GET", "/stock/history/{variant_id}", "perm:read:stock"),
    Row("products", "GET", "/stock/reconcile", "perm:read:stock"),
    Row("products", "POST", "/internal/variant-details", f"scope:{scopes.READ_VARIANTS}"),
    Row("products", "POST", "/internal/product-documents", f"scope:{scopes.READ_CATALOG}"),
    Row("products", "GET", "/internal/product-stamps", f"scope:{scopes.READ_CATALOG}"),
    Row("products", "POST", "/internal/image-uses", f"scope:{scopes.READ_IMAGE_USES}"),
    Row("products", "GET", "/{product_id}/variants", "public"),
    Row("products", "GET", "/{product_id}/variants/{variant_id}", "public"),
    Row("products", "POST", "/{product_id}/variants", "perm:update:product"),
    Row("products", "PUT", "/{product_id}/variants/{variant_id}", "perm:update:product"),
    Row("products", "DELETE", "/{product_id}/variants/{variant_id}", "perm:update:product"),
    Row("products", "GET", "/", "public"),
    Row("products", "GET", "/id/{product_id}", "public"),
    Row("products", "GET", "/sku/{sku}", "public"),
    Row("products", "POST", "/", "perm:create:product"),
    Row("products", "POST", "/bulk", "perm:create:product"),
    Row("products", "GET", "/{word}", "public"),
    Row("products", "PUT", "/{product_id}", "perm:update:product"),
    Row("products", "DELETE", "/{product_id}", "perm:delete:product"),
    Row("products", "POST", "/{product_id}/categories", "perm:update:product"),
    Row("products", "DELETE", "/{product_id}/categories", "perm:update:product"),
    Row("products", "POST", "/{product_id}/images", "perm:update:product"),
    Row("products", "DELETE", "/{product_id}/images", "perm:update:product"),
    Row("images", "POST", "/upload", "user"),
    Row("images", "GET", "/", "perm:update:product"),
    Row("images", "GET", "/internal/images/{name}", f"scope:{scopes.CHECK_IMAGES}"),
    Row("images", "GET", "/{name}", "public"),
    Row("images", "HEAD", "/{name}", "public"),
    Row("images", "DELETE", "/{name}", "perm:update:product"),
    Row("search", "GET", "/products", "public"),
    Row("search", "GET", "/suggest", "public"),
    Row("search", "POST", "/admin/reindex", "perm:update:product"),
    Row("search", "GET", "/admin/reindex", "perm:update:product"),
    Row("search", "POST", "/internal/index", f"scope:{scopes.WRITE_INDEX}"),
    Row("search", "POST", "/internal/delete", f"scope:{scopes.WRITE_INDEX}"),
    Row("search", "POST", "/internal/reindex", f"scope:{scopes.REINDEX}"),
    Row("search", "GET", "/internal/reindex", f"scope:{scopes.REINDEX}"),
    Row("search", "POST", "/internal/reconcile", f"scope:{scopes.WRITE_INDEX}", upstream=True),
    Row("carts", "POST", "/", "public"),
    Row("carts", "POST", "/associate", "user"),
    Row("carts", "GET", "/{cartId}", "public", CART_USERS, "cart"),
    Row("carts", "POST", "/{cartId}/items", "public", CART_USERS, "cart", LINE),
    Row("carts", "PUT", "/{cartId}/items/{itemId}", "public", CART_USERS, "cart", {"quantity": 2}),
    Row("carts", "DELETE", "/{cartId}/items/{itemId}", "public", CART_USERS, "cart"),
    Row("carts", "DELETE", "/{cartId}/items", "public", CART_USERS, "cart"),
    Row("carts", "DELETE", "/{cartId}", "public", CART_USERS, "cart"),
    Row("orders", "POST", "/returns", "public"),
    Row("orders", "GET", "/my-returns", "perm:read:my-orders"),
    Row("orders", "GET", "/returns/{returnId}", "public", RETURN_READERS, "return_request"),
    Row(
        "orders",
        "POST",
        "/returns/{returnId}/comments",
        "public",
        RETURN_COMMENTERS,
        "return_request",
        COMMENT,
    ),
    Row("orders", "GET", "/admin/returns", "perm:read:returns"),
    Row("orders", "PUT", "/admin/returns/{returnId}", "perm:write:returns"),
    Row("orders", "POST", "/internal/returns/{returnId}/settled", f"scope:{scopes.REPORT_ORDER_STATUS}"),
    Row("orders", "POST", "/", "public"),
    Row("orders", "GET", "/my-orders", "perm:read:my-orders"),
    Row("orders", "GET", "/", "perm:read:order"),
    Row("orders", "POST", "/guest-lookup", "public"),
    Row("orders", "GET", "/{orderId}", "public", ORDER_READERS, "order"),
    Row("orders", "GET", "/{orderId}/timeline", "public", ORDER_READERS, "order"),
    Row("orders", "POST", "/{orderId}/cancel", "public", ORDER_CANCELLERS, "order"),
    Row("orders", "PUT", "/{orderId}/status", "perm:update:order"),
    Row("orders", "POST", "/internal/orders/{orderId}/status", f"scope:{scopes.REPORT_ORDER_STATUS}"),
    Row("orders", "GET", "/internal/purchases/verified", f"scope:{scopes.VERIFY_PURCHASE}"),
    Row("stats", "GET", "/kpis", f"perm:{stats.READ_STATS}"),
    Row("stats", "GET", "/revenue/time-series", f"perm:{stats.READ_STATS}"),
    Row("stats", "GET", "/products/top-selling", f"perm:{stats.READ_STATS}"),
    Row("stats", "POST", "/admin/rebuild", f"perm:{stats.REBUILD_STATS}"),
    Row("reviews", "GET", "/product/{productId}", "public"),
    Row("reviews", "GET", "/", "public"),
    Row("reviews", "POST", "/", f"perm:{reviews.WRITE_REVIEW}"),
    Row("reviews", "GET", "/my-reviews", f"perm:{reviews.READ_REVIEW}"),
    Row(
        "reviews",
        "PUT",
        "/{reviewId}",
        f"perm:{reviews.WRITE_REVIEW}",
        frozenset({"customer"}),
        "review",
        {"rating": 4},
        hidden=False,
    ),
    Row("reviews", "DELETE", "/{reviewId}", "user", REVIEW_DELETERS, "review", hidden=False),
]
APPS: dict[str, Callable[[Settings], FastAPI]] = {
    "products": create_products,
    "images": create_images,
    "search": create_search,
    "carts": create_carts,
    "orders": create_orders,
    "stats": create_stats,
    "reviews": create_reviews,
}
# /metrics too: Prometheus scrapes it on the service's own port, and the gateway never forwards it.
UNGUARDED = {"/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def declared(dependant: Dependant) -> str:
    """The guard a route declares through kit.auth.callers, read from its dependency tree."""
    found = "public"
    for dependency in dependant.dependencies:
        name = getattr(dependency.call, "__qualname__", "")
        values = [cell.cell_contents for cell in getattr(dependency.call, "__closure__", None) or ()]
        if name == "require_scope.<locals>.check":
            return f"scope:{values[0]}"
        if name == "require_permission.<locals>.check":
            return "perm:" + ",".join(values[0])
        guards = {"current_user": "user", "current_caller": "caller"}
        inner = guards[name] if name in guards else declared(dependency)
        found = inner if inner != "public" else found
    return found


def routes(app: FastAPI) -> dict[str, str]:
    """`METHOD path` -> declared guard, for every route of `app` but its docs and probes."""
    return {
        f"{method} {route.path}": declared(route.dependant)
        for route in iter_route_contexts(app.routes)
        if route.path not in UNGUARDED
        for method in route.methods or ()
    }


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_route_has_a_row_with_the_guard_it_declares(tmp_path: Path, service: str) -> None:
    found = routes(APPS[service](embedded_settings(tmp_path)))
    table = {f"{row.method} {row.path}": row.guard for row in MATRIX if row.service == service}
    assert found == table


def headers(tokens: Tokens, caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller.startswith("service:"):
        return tokens.headers(caller)
    role = USERS[caller]
    token = tokens.sign(user_id(caller), role, seed.ROLES[role][1], email=f"{caller}@example.com")
    return {"Authorization": f"Bearer {token}"}


class Owned:
    """The customer's cart (with one line) and order, made afresh for each call: an admitted call may
    delete or cancel it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def cart(self) -> dict[str, str]:
        line = CartItem(product_id="p1", variant_id="v1", quantity=1, price=Decimal("10.00"))
        cart = Cart(id=str(uuid.uuid4()), user_id=user_id("customer"), items=[line])
        cache = open_cache(self.settings.for_service("carts").cache_url)
        await cache.set(cart_key(cart.id), cart.to_bytes())
        return {"cartId": cart.id, "itemId": line.item_id}

    async def order(self, status: OrderStatus = OrderStatus.PENDING) -> dict[str, str]:
        order = Order(
            user_id=user_id("customer"),
            phone="0612345678",
            status=status,
            payment_method=PaymentMethod.CASH_ON_DELIVERY,
            shipping_address={"city": "Lyon"},
            total_amount=Decimal("25.00"),
            display_total_amount=Decimal("25.00"),
            idempotency_key=str(uuid.uuid4()),
        )
        await self._store(order)
        return {"orderId": order.id}

    async def return_request(self) -> dict[str, str]:
        """A return of the customer's delivered order."""
        order_id = (await self.order(OrderStatus.DELIVERED))["orderId"]
        request = ReturnRequest(order_id=order_id, reason="Too small")
        await self._store(request)
        return {"returnId": request.id}

    async def review(self) -> dict[str, str]:
        """A review of the customer's, of a product the reviews service knows."""
        product = ProductCopy(id=str(uuid.uuid4()), name={"en": "Shoe"}, sku=f"SKU-{uuid.uuid4().hex[:8]}")
        await self._store(product, "reviews")
        review = Review(user_id=user_id("customer"), product_id=product.id, rating=3, comment="Fine")
        await self._store(review, "reviews")
        return {"reviewId": review.id}

    async def _store(
        self, row: Order | ReturnRequest | Review | ProductCopy, service: str = "orders"
    ) -> None:
        engine = db.open_engine(self.settings.for_service(service).service_database_url)
        try:
            async with db.session_factory(engine)() as session:
                session.add(row)
                await session.commit()
        finally:
            await engine.dispose()


def refusal(row: Row, caller: str) -> int:
    if row.owned and row.hidden:
        return 404
    return 401 if caller == "anonymous" else 403


async def call(client: httpx.AsyncClient, tokens: Tokens, owned: Owned, row: Row, caller: str) -> int:
    values = await getattr(owned, row.owned)() if row.owned else {}
    path = re.sub(r"{(\w+)}", lambda match: values.get(match[1], str(uuid.uuid4())), row.path)
    body = row.body if row.body is not None else ({} if row.method in ("POST", "PUT") else None)
    response = await client.request(row.method, path, json=body, headers=headers(tokens, caller))
    if response.status_code == 503 and row.upstream and response.json()["code"] == "UpstreamUnavailable":
        return 200  # admitted, then stopped by the other service it calls (none runs here)
    return response.status_code


def violation(row: Row, caller: str, status: int) -> bool:
    if caller in row.expected:
        return status in (401, 403, refusal(row, caller)) or status >= 500
    return status != refusal(row, caller)


@pytest.mark.parametrize("service", sorted(APPS))
async def test_every_caller_is_admitted_or_refused_as_its_row_says(tmp_path: Path, service: str) -> None:
    settings = embedded_settings(tmp_path)
    app = APPS[service](settings)
    app.dependency_overrides[get_catalog] = lambda: FakeCatalog(variant("v1"))
    tokens = Tokens(settings.jwt_issuer)
    owned = Owned(settings)
    violations: list[str] = []
    async with asgi_client(app) as client:
        app.state.token_verifier = tokens.verifier()
        for row in (row for row in MATRIX if row.service == service):
            for caller in CALLERS:
                status = await call(client, tokens, owned, row, caller)
                if violation(row, caller, status):
                    wanted = "admitted" if caller in row.expected else f"refused {refusal(row, caller)}"
                    violations.append(f"{row} as {caller}: {status}, wanted {wanted}")
    rows = sum(row.service == service for row in MATRIX)
    record("authorization", routes=rows, cases=rows * len(CALLERS), violations=len(violations))
    assert violations == []


def test_the_callers_are_every_seed_role_and_every_identity() -> None:
    record("authorization", callers=len(CALLERS))  # once: the service tests record routes and cases
    assert set(USERS.values()) == set(seed.ROLES)
    assert all(caller.removeprefix("service:") in SERVICE_SCOPES for caller in SERVICES)
    assert SERVICE_ROLE == "service"
