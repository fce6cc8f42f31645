"""Bad input by hand, through the gateway in front of every service: JSON nested ten thousand deep, bodies
that are not UTF-8, numbers too big for anything (1e400, 10**100), NaN and Infinity, pages and limits
out of every range, and paths encoded every way toward `/internal/`. Each answer is a 4xx JSON error with a
`message` (or the 2xx a valid request gets), never a 5xx, and no path trick reaches an internal route
(each service counts the requests its routes answered, by route template).

The figures go to the reliability report's `nasty` section.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio

from commerce.platform import serving
from kit import metrics
from kit.settings import SERVICES
from tests.figures import record
from tests.support import embedded_settings, free_port, raw_request
from tests.test_fuzz import account

pytestmark = pytest.mark.asyncio(loop_scope="module")

DEPTH = 10_000
HUGE = 10**100
CART = "00000000-0000-4000-8000-000000000000"
ADDRESS = {"street": "1 Main St", "city": "Lyon", "postalCode": "69001", "country": "FR"}
GUEST = {"phone": "0612345678", "paymentMethod": "CASH_ON_DELIVERY", "shippingAddress": ADDRESS}
GUEST |= {"guestEmail": "ada@example.com", "guestName": "Ada"}


@dataclass
class Shop:
    """The platform behind its gateway (and each service's own URL), with a customer's and an admin's
    `Authorization`.
    """

    client: httpx.AsyncClient
    url: str
    services: dict[str, str]
    customer: dict[str, str]
    admin: dict[str, str]


@dataclass
class Answer:
    status: int
    body: bytes
    where: str
    unparsed: bool = False  # refused by the HTTP server as no HTTP at all: no application ever saw it


@dataclass
class Tally:
    """What one group of cases found, as the report counts it."""

    cases: int = 0
    unparsed: int = 0
    server_errors: list[str] = field(default_factory=list)
    no_message: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    internal: list[str] = field(default_factory=list)

    def judge(self, answer: Answer, expected: set[int]) -> None:
        """Count what is wrong with `answer`: a 5xx, an error without a JSON `message`, a status other
        than `expected`.
        """
        self.cases += 1
        where = f"{answer.where} -> {answer.status}: {answer.body[:200]!r}"
        if answer.status >= 500:
            self.server_errors.append(where)
        self.unparsed += answer.unparsed
        if answer.status >= 400 and not answer.unparsed and not _has_message(answer.body):
            self.no_message.append(where)
        if answer.status not in expected:
            self.wrong.append(f"{where} (expected {sorted(expected)})")

    def failures(self) -> list[str]:
        return [*self.server_errors, *self.no_message, *self.wrong, *self.internal]

    def record(self, kind: str) -> None:
        record(
            "nasty",
            cases=self.cases,
            server_errors=len(self.server_errors),
            errors_without_message=len(self.no_message),
            wrong_answers=len(self.wrong),
            internal_reached=len(self.internal),
            refused_as_no_http=self.unparsed,
            **{f"{kind}_cases": self.cases},
        )
        assert not self.failures(), "\n".join(self.failures()[:30])


def _has_message(body: bytes) -> bool:
    with contextlib.suppress(ValueError):
        parsed = json.loads(body)
        return isinstance(parsed, dict) and isinstance(parsed.get("message"), str)
    return False


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    ports = {name: free_port() for name in (*SERVICES, "gateway")}
    unlimited = {"per_second": 0}  # every case comes from 127.0.0.1: tests/gateway test the limits
    settings = embedded_settings(
        tmp_path_factory.mktemp("nasty"),
        ports=ports,
        order_answer_seconds=0.05,  # no worker runs the saga here
        rate_limit=unlimited,
        strict_rate_limit=unlimited,
    )
    url = f"http://127.0.0.1:{ports['gateway']}"
    async with serving(settings, queues=()), httpx.AsyncClient(base_url=url, timeout=60) as client:
        admin = {"email": settings.admin_email, "password": settings.admin_password.get_secret_value()}
        callers = [await account(client, "/auth")(), await account(client, "/auth", admin)()]
        customer, admin_ = ({"Authorization": caller or ""} for caller in callers)
        services = {name: f"http://127.0.0.1:{ports[name]}" for name in SERVICES}
        yield Shop(client, url, services, customer, admin_)


async def send(
    shop: Shop, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Answer:
    sent = {"content-type": "application/json"} | (headers or {})
    response = await shop.client.request(method, path, content=body, headers=sent)
    return Answer(response.status_code, response.content, f"{method} {path} {(body or b'')[:60]!r}")


# --- bodies ----------------------------------------------------------------------------------------------

NESTED = {
    "arrays": b"[" * DEPTH + b"]" * DEPTH,
    "objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "in a field": b'{"items": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
    "just deep enough": b'{"items": ' + b"[" * 900 + b"]" * 900 + b"}",
}
NOT_UTF8 = {
    "bytes": b'{"email": "\xff\xfe\xfd", "password": "x"}',
    "overlong": b'{"name": "\xc0\xaf"}',
    "surrogate bytes": b'{"name": "\xed\xa0\x80"}',
    "latin-1": b'{"name": "caf\xe9"}',
    "utf-16": '{"name": "x"}'.encode("utf-16"),  # read as JSON is (RFC 8259 section 8.1): valid
    "cut": b'{"name": "\xe2\x82"}',
}
# Bodies each route reads (the caller who may send it): the nasty bodies replace them whole.
BODY_ROUTES = [
    ("POST", "/auth/register", None),
    ("POST", "/auth/login", None),
    ("POST", f"/carts/{CART}/items", None),
    ("POST", "/orders", None),
    ("POST", "/orders/guest-lookup", None),
    ("POST", "/products", "admin"),
    ("POST", "/products/categories", "admin"),
    ("PUT", "/auth/users/00000000-0000-0000-0000-000000000000", "admin"),  # the UTF-16 name: no such user
]


def _caller(shop: Shop, who: str | None) -> dict[str, str]:
    return {"customer": shop.customer, "admin": shop.admin}.get(who or "", {})


async def test_deeply_nested_and_non_utf8_bodies_are_refused(shop: Shop) -> None:
    tally = Tally()
    for method, path, who in BODY_ROUTES:
        for body in [*NESTED.values(), *NOT_UTF8.values()]:
            answer = await send(shop, method, path, body, _caller(shop, who))
            tally.judge(answer, {400, 404} if method == "PUT" else {400})
    for body in [*NESTED.values(), *NOT_UTF8.values()]:  # a new cart: every field optional, others ignored
        tally.judge(await send(shop, "POST", "/carts", body), {201, 400})
    tally.record("bodies")


# JSON escapes for texts no database can store: a lone surrogate, NUL.
UNSTORABLE = ["\\ud800", "a\\udfffb", "\\u0000", "x\\u0000y"]


async def test_texts_no_database_can_store_are_refused(shop: Shop) -> None:
    tally = Tally()
    for text in UNSTORABLE:
        register = f'{{"name": "{text}", "email": "u{len(text)}@example.com", "password": "long enough"}}'
        login = f'{{"email": "a@b.co", "password": "{text}"}}'
        product = f'{{"sku": "S{text}", "name": {{"en": "{text}"}}}}'
        category = f'{{"name": {{"en": "{text}"}}, "slug": "s-{len(text)}"}}'
        for method, path, body, who in [
            ("POST", "/auth/register", register, None),
            ("POST", "/auth/login", login, None),
            ("POST", "/products", product, "admin"),
            ("POST", "/products/categories", category, "admin"),
            ("POST", "/orders/guest-lookup", f'{{"orderId": "{text}", "token": "t"}}', None),
        ]:
            tally.judge(await send(shop, method, path, body.encode(), _caller(shop, who)), {400})
        quoted = text
        for escape, encoded in (("\\u0000", "%00"), ("\\ud800", "%ED%A0%80"), ("\\udfff", "%ED%BF%BF")):
            quoted = quoted.replace(escape, encoded)
        nul = "%00" in quoted  # refused; the surrogates' bytes are no UTF-8, read as U+FFFD: found nowhere
        for path in ["/search/products?q=", "/products?q=", "/orders/my-orders?x="]:
            answer = await send(shop, "GET", path + quoted, headers=shop.customer)
            tally.judge(answer, {400} if nul else {200})
        tally.judge(await send(shop, "GET", f"/products/sku/{quoted}"), {404})
    tally.record("texts")


# --- numbers ---------------------------------------------------------------------------------------------

# Literals Python's JSON reader takes (NaN and Infinity are not JSON, but it reads them as floats).
NUMBERS = ["1e400", "-1e400", str(HUGE), str(-HUGE), "NaN", "Infinity", "-Infinity", "1e-400"]
NUMBERS += ["0", "-1", "1.5"]


def _product(price: str) -> bytes:
    variant = f'{{"attributes": {{"size": "M"}}, "price": {price}}}'
    sku = f"NASTY-{uuid.uuid4().hex[:12]}"
    return f'{{"sku": "{sku}", "name": {{"en": "Nasty"}}, "variants": [{variant}]}}'.encode()


async def test_huge_and_non_finite_numbers_in_bodies_are_refused(shop: Shop) -> None:
    tally = Tally()
    for number in NUMBERS:
        line = f'{{"variantId": "v-1", "quantity": {number}}}'
        order = json.dumps(GUEST)[:-1] + f', "items": [{line}]}}'
        tally.judge(await send(shop, "POST", "/orders", order.encode()), {400})
        tally.judge(await send(shop, "POST", f"/carts/{CART}/items", line.encode()), {400})
        stock = f'{{"changeQuantity": {number}, "reason": "nasty", "type": "ADJUSTMENT"}}'
        valid = number in ("0", "-1")  # an integer: refused later (zero, or no such variant)
        answer = await send(shop, "POST", "/products/stock/adjust/v-1", stock.encode(), shop.admin)
        tally.judge(answer, {400, 404} if valid else {400})
        for price in (number, f'"{number}"'):
            valid = price in ("0", "1.5", "1e-400", '"0"', '"1.5"')  # 1e-400 reads as the float 0.0
            answer = await send(shop, "POST", "/products", _product(price), shop.admin)
            tally.judge(answer, {201} if valid else {400})
    tally.record("numbers")


# Listing routes and who may list them; each takes `page` and `limit` (stock history only `limit`).
LISTINGS = [
    ("/products", None),
    ("/search/products", None),
    ("/orders", "admin"),
    ("/orders/my-orders", "customer"),
    ("/auth/users", "admin"),
    ("/images", "admin"),
]
BAD_PAGES = ["0", "-1", "-0.5", "1.5", str(HUGE), "1e400", "NaN", "Infinity", "", "abc", "1e2", "%00", "0x10"]


async def test_pages_and_limits_out_of_range_are_refused(shop: Shop) -> None:
    tally = Tally()
    for path, who in LISTINGS:
        headers = _caller(shop, who)
        for bad in BAD_PAGES:
            tally.judge(await send(shop, "GET", f"{path}?page={bad}", headers=headers), {400})
            tally.judge(await send(shop, "GET", f"{path}?limit={bad}", headers=headers), {400})
        for good in ("page=1&limit=1", "page=100000&limit=100"):
            tally.judge(await send(shop, "GET", f"{path}?{good}", headers=headers), {200})
        tally.judge(await send(shop, "GET", f"{path}?limit=101", headers=headers), {400})
        tally.judge(await send(shop, "GET", f"{path}?page=100001", headers=headers), {400})
    for bad in [*BAD_PAGES, "101"]:
        tally.judge(await send(shop, "GET", f"/search/suggest?q=a&limit={bad}"), {400})
    tally.record("pages")


# --- paths toward /internal/ -----------------------------------------------------------------------------

# An internal route of each service (reached straight, each answers without a token, not a 404).
INTERNAL = {
    "products": ("GET", "internal/product-stamps"),
    "search": ("GET", "internal/reindex"),
    "images": ("GET", "internal/images/x.png"),
    "auth": ("POST", "internal/service-token"),
    "orders": ("POST", "internal/orders/x/status"),
}


def tricks(prefix: str, route: str) -> list[str]:
    """`/<prefix>/<route>` written every way a path can hide that it names an internal route."""
    rest = route.removeprefix("internal")
    return [
        f"/{prefix}/{route}",
        f"/{prefix}/{route}/",
        f"/{prefix}//{route}",
        f"/{prefix}/./{route}",
        f"/{prefix}/x/../{route}",
        f"/{prefix}/%2e/{route}",
        f"/{prefix}/x/%2e%2e/{route}",
        f"/{prefix}/x/%2E%2E/{route}",
        f"/{prefix}/x/..%2f{route}",
        f"/{prefix}/x%2f..%2f{route}",
        f"/{prefix}/%2f{route}",
        f"/{prefix}%2f{route}",
        f"/{prefix}/{route.replace('/', '%2f')}",
        f"/{prefix}/{route.replace('/', '%2F')}",
        f"/{prefix}/%69nternal{rest}",
        f"/{prefix}/%2569nternal{rest}",
        f"/{prefix}/%252e%252e/{route}",
        f"/{prefix}/x/%252e%252e%252f{route}",
        f"/{prefix}/{route.replace('/', '%252f')}",
        f"/{prefix}/INTERNAL{rest}",
        f"/{prefix}/Internal{rest}",
        f"/{prefix}/iNtErNaL{rest}",
        f"/{prefix}\\{route}",
        f"/{prefix}/..\\{route}",
        f"/{prefix}/x\\..\\{route}",
        f"/{prefix}/%5c{route}",
        f"/{prefix}/x%5c..%5c{route}",
        f"/{prefix}/internal;x{rest}",
        f"/{prefix}/internal%00{rest}",
        f"/{prefix}/internal%20{rest}",
        f"/{prefix}/internal.{rest}",
        f"/{prefix}/%20internal{rest}",
        f"/{prefix}/internal%09{rest}",
        f"/%{ord(prefix[0]):x}{prefix[1:]}/{route}",
        f"/{prefix.upper()}/{route}",
        f"/{prefix}/%u0069nternal{rest}",
        f"/{prefix}/\u0131nternal{rest}".encode().decode("latin-1"),
        f"/{prefix}/%C4%B1nternal{rest}",
        f"/{prefix}/%EF%BC%8F{route}",
        f"/products/..%2f{prefix}/{route}",
        f"/carts/..%2f..%2f{prefix}/{route}",
        f"http://127.0.0.1/{prefix}/{route}",
    ]


def internal_answers() -> float:
    """How many requests the services' internal routes have answered in this process."""
    return sum(
        sample.value
        for family in metrics.HTTP_REQUESTS.collect()
        for sample in family.samples
        if sample.labels["service"] != "gateway" and sample.labels["route"].startswith("/internal")
    )


async def _raw(url: str, method: str, target: str) -> Answer:
    raw = await raw_request(url, method, target, b"{}", b"Content-Type: application/json\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunked(body)
    unparsed = status == 400 and body == b"Invalid HTTP request received."  # uvicorn's own refusal
    return Answer(status, body, f"{method} {target}", unparsed)


def _dechunked(body: bytes) -> bytes:
    whole = b""
    while body:
        size, _, body = body.partition(b"\r\n")
        length = int(size, 16)
        whole, body = whole + body[:length], body[length + 2 :]
        if not length:
            break
    return whole


async def test_no_path_trick_reaches_an_internal_route(shop: Shop) -> None:
    tally = Tally()
    for prefix, (method, route) in INTERNAL.items():
        before = internal_answers()
        straight = await _raw(shop.services[prefix], method, f"/{route}")  # what reaching one looks like
        assert straight.status != 404, straight
        assert internal_answers() == before + 1, f"{prefix}'s internal routes are not counted"
        for target in tricks(prefix, route):
            before = internal_answers()
            tally.judge(await _raw(shop.url, method, target), {400, 404, 405})
            if internal_answers() != before:
                tally.internal.append(f"{method} {target} reached an internal route")
    tally.record("paths")
