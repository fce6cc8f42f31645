"""What the scenarios share: the admin's login, answers checked as a client would, unique names, what a
scenario caused (the events the bus must hold once each), and the shop actions several scenarios take.

Nothing here reaches past the gateway: every call is an HTTP request on the client's base URL.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts import auth, orders, products

ADDRESS = {"street": "1 Main St", "city": "Lyon", "postalCode": "69001", "country": "FR"}
PHONE = "+33 6 12 34 56 78"
PASSWORD = "correct horse battery staple"
SETTLE_SECONDS = 120.0  # an order answered 202 must settle within this (a loaded cluster's saga)
MAX_RETRY_AFTER = 60.0  # longest Retry-After a scenario waits out before failing


def unique(prefix: str) -> str:
    """A name no earlier run used: every scenario can run again and again on one live platform."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Caused:
    """What a scenario did that the bus must show: each event (topic, type, key) exactly once, and for
    each product the stock of its variants that the product's latest event must carry.
    """

    events: list[tuple[str, str, str]] = field(default_factory=list)
    stock: dict[str, dict[str, int]] = field(default_factory=dict)

    def event(self, topic: str, kind: str, key: str) -> None:
        self.events.append((topic, kind, key))

    def order(self, placed: dict[str, Any]) -> None:
        """The event of the status an order reached (CONFIRMED and PAID announce ORDER_CREATED)."""
        kind = {
            orders.OrderStatus.CONFIRMED: orders.ORDER_CREATED,
            orders.OrderStatus.PAID: orders.ORDER_CREATED,
            orders.OrderStatus.FAILED: orders.ORDER_FAILED,
        }[placed["status"]]
        self.event(orders.ORDER_EVENTS, kind, placed["id"])

    def merge(self, other: Caused) -> None:
        self.events += other.events
        for product_id, variants in other.stock.items():
            self.stock.setdefault(product_id, {}).update(variants)


@dataclass
class Admin:
    """The platform's administrator: logs in once, on first use."""

    email: str
    password: str
    _headers: dict[str, str] | None = None

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        if self._headers is None:
            token = await log_in(http, self.email, self.password)
            self._headers = bearer(token)
        return self._headers


async def send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request; a 429 is waited out (its Retry-After) and sent again, as a polite client does."""
    waited = 0.0
    while True:
        response = await http.request(method, url, **kwargs)
        if response.status_code != 429 or waited >= MAX_RETRY_AFTER:
            return response
        pause = float(response.headers.get("Retry-After", "1"))
        waited += pause
        await asyncio.sleep(pause)


def expect(response: httpx.Response, *statuses: int) -> Any:
    """The answer's JSON, after checking its status is one of `statuses` (the answer in the message)."""
    request = response.request
    assert response.status_code in statuses, (
        f"{request.method} {request.url.path} answered {response.status_code}, expected {statuses}: "
        f"{response.text[:500]}"
    )
    if response.status_code in (204, 304):
        return None
    return response.json()


def refused(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """A refusal as the platform promises them: `status`, a JSON body with a `message` (and `code`)."""
    body: dict[str, Any] = expect(response, status)
    assert isinstance(body.get("message"), str), f"no message in {body}"
    assert body["message"], f"an empty message in {body}"
    if code is not None:
        assert body.get("code") == code, f"code {body.get('code')!r}, expected {code!r}: {body}"
    return body


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 60.0) -> None:
    """Wait until `check()` is true; fail naming `what` otherwise."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        await asyncio.sleep(0.5)


# ---------------------------------------------------------------------------------------------- accounts


async def log_in(http: httpx.AsyncClient, email: str, password: str) -> str:
    answer = expect(await send(http, "POST", "/auth/login", json={"email": email, "password": password}), 200)
    token: str = answer["token"]
    return token


async def register(http: httpx.AsyncClient, caused: Caused, name: str = "Carla Customer") -> tuple[str, str]:
    """A new customer account (its USER_CREATED caused); returns (email, user id)."""
    email = f"{unique('scenario')}@example.com"
    body = {"name": name, "email": email, "password": PASSWORD}
    token = expect(await send(http, "POST", "/auth/register", json=body), 201)["token"]
    me = expect(await http.get("/auth/me", headers=bearer(token)), 200)
    assert (me["email"], me["name"]) == (email, name), me
    caused.event(auth.AUTH_EVENTS, auth.USER_CREATED, me["id"])
    return email, str(me["id"])


async def customer(http: httpx.AsyncClient, caused: Caused) -> tuple[dict[str, str], str]:
    """A new customer, logged in: (headers, email)."""
    email, _ = await register(http, caused)
    return bearer(await log_in(http, email, PASSWORD)), email


# ---------------------------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class Product:
    id: str
    sku: str
    name: dict[str, str]
    variants: list[str]


async def product(
    http: httpx.AsyncClient,
    admin: Admin,
    caused: Caused,
    *,
    stock: int = 10,
    price: str = "25.00",
    word: str | None = None,
    **fields: Any,
) -> Product:
    """A product with two variants of `stock` units each (its PRODUCT_CREATED caused)."""
    word = word or unique("trail").replace("-", "")
    body = {
        "sku": f"SKU-{word.upper()}",
        "name": {"en": f"{word.title()} shoe", "fr": f"Chaussure {word}"},
        "variants": [
            {"attributes": {"Color": color}, "price": price, "initialStockQuantity": stock}
            for color in ("Red", "Blue")
        ],
        **fields,
    }
    created = expect(await http.post("/products", json=body, headers=await admin.headers(http)), 201)
    created = created.get("data", created)
    variants = [v["id"] for v in created["variants"]]
    caused.event(products.PRODUCT_EVENTS, products.PRODUCT_CREATED, created["id"])
    caused.stock[created["id"]] = dict.fromkeys(variants, stock)
    return Product(created["id"], created["sku"], body["name"], variants)


async def stock(http: httpx.AsyncClient, admin: Admin, product_id: str, variant_id: str) -> int:
    path = f"/products/{product_id}/variants/{variant_id}"
    body = expect(await http.get(path, headers=await admin.headers(http)), 200)
    return int(body.get("data", body)["stockQuantity"])


async def stock_now(http: httpx.AsyncClient, admin: Admin, caused: Caused, item: Product) -> dict[str, int]:
    """Each variant's stock as the catalog tells it now, noted as what the product's last event must show."""
    now = {v: await stock(http, admin, item.id, v) for v in item.variants}
    caused.stock[item.id] = now
    return now


def png(seed: str) -> bytes:
    """A 16x16 PNG whose colours depend on `seed`: new bytes, so a new image, on every run."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    tint = zlib.crc32(seed.encode()).to_bytes(4, "big")
    rows = b"".join(
        b"\x00" + b"".join(bytes([x * 16, y * 16, tint[(x + y) % 4]]) for x in range(16)) for y in range(16)
    )
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------------- orders


def order_body(variants: dict[str, int] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"shippingAddress": ADDRESS, "phone": PHONE, "paymentMethod": "CASH_ON_DELIVERY"}
    if variants:
        body["items"] = [{"variantId": v, "quantity": q} for v, q in variants.items()]
    return body | fields


def guest(**fields: Any) -> dict[str, Any]:
    return {"guestEmail": f"{unique('guest')}@example.com", "guestName": "Gus Guest", **fields}


async def place(
    http: httpx.AsyncClient, admin: Admin, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """POST /orders with an Idempotency-Key (so a 429 or a lost answer is safe to send again); a 202 is
    followed until the order settles. Returns the order (a 201, or the settled order read by staff).
    """
    sent = {**(headers or {}), "Idempotency-Key": unique("scenario")}
    response = await send(http, "POST", "/orders", json=body, headers=sent)
    answer: dict[str, Any] = expect(response, 201, 202)
    if response.status_code == 201:
        return answer
    return await settled(http, admin, answer["id"])


async def settled(http: httpx.AsyncClient, admin: Admin, order_id: str) -> dict[str, Any]:
    """The order once its saga has left PENDING (read by staff: a guest's 202 carries no token)."""
    found: dict[str, Any] = {}

    async def done() -> bool:
        found.update(expect(await http.get(f"/orders/{order_id}", headers=await admin.headers(http)), 200))
        return bool(found["status"] != orders.OrderStatus.PENDING)

    await eventually(done, f"order {order_id} leaves PENDING", SETTLE_SECONDS)
    return found
