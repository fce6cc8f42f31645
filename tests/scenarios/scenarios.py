"""The scenarios, one per step of a shopper's and a shop's day, in the order they are played.

Each is a plain async function `(http, admin) -> Caused`: `http` is a client on the gateway's URL, `admin`
the platform's administrator; it asserts through the gateway only, makes every name it uses unique (so it
runs again and again on one live platform) and depends on no other scenario. What it returns is what the
bus must then show (`tests.scenarios.events`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx

from contracts import orders, products
from contracts.orders import OrderStatus
from tests.scenarios.shop import (
    PASSWORD,
    Admin,
    Caused,
    bearer,
    customer,
    eventually,
    expect,
    guest,
    order_body,
    place,
    png,
    product,
    refused,
    register,
    send,
    stock_now,
    unique,
)

Scenario = Callable[[httpx.AsyncClient, Admin], Awaitable[Caused]]
LETTERS = str.maketrans("0123456789", "ghijklmnop")


async def gateway_answers(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """The gateway and every service behind it are up; a path it does not route is a JSON 404."""
    health = expect(await http.get("/health"), 200)
    assert health["status"] == "UP", health
    down = {name: state for name, state in health.get("upstreams", {}).items() if state != "UP"}
    assert not down, f"upstreams not UP: {down}"
    refused(await http.get(f"/{unique('nowhere')}"), 404)
    return Caused()


async def register_account(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A visitor registers (a Customer, whatever role it asks for); an e-mail registers once."""
    caused = Caused()
    email, _ = await register(http, caused, name="Rita Register")
    again = {"name": "Rita Again", "email": email, "password": PASSWORD}
    refused(await send(http, "POST", "/auth/register", json=again), 409, "EmailTaken")
    climber = {
        "name": "Max",
        "email": f"{unique('max')}@example.com",
        "password": PASSWORD,
        "roleName": "ADMIN",
    }
    refused(await send(http, "POST", "/auth/register", json=climber), 400)
    return caused


async def log_in_account(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A customer logs in, reads itself, trades its refresh token once; a wrong password is a 401."""
    caused = Caused()
    email, user_id = await register(http, caused)
    wrong = {"email": email, "password": "not the password"}
    refused(await send(http, "POST", "/auth/login", json=wrong), 401, "InvalidCredentials")
    pair = expect(await send(http, "POST", "/auth/login", json={"email": email, "password": PASSWORD}), 200)
    me = expect(await http.get("/auth/me", headers=bearer(pair["token"])), 200)
    assert (me["id"], me["email"], me["role"]["name"]) == (user_id, email, "Customer"), me
    refreshed = expect(await http.post("/auth/refresh", json={"refreshToken": pair["refreshToken"]}), 200)
    expect(await http.get("/auth/me", headers=bearer(refreshed["token"])), 200)
    refused(await http.post("/auth/refresh", json={"refreshToken": pair["refreshToken"]}), 401)
    refused(await http.get("/auth/me"), 401)
    return caused


async def build_catalog(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """Staff build a catalog: a category, a photo uploaded and served (304 on a repeat), a product showing
    it, two more in bulk; the category lists the three. Anonymous visitors cannot add to it.
    """
    caused = Caused()
    staff = await admin.headers(http)
    slug = unique("shoes")
    category = expect(
        await http.post(
            "/products/categories",
            json={"name": {"en": "Shoes", "fr": "Chaussures"}, "slug": slug},
            headers=staff,
        ),
        201,
    )
    caused.event(products.PRODUCT_EVENTS, products.CATEGORY_CREATED, category["id"])

    files = {"imageFile": ("photo.png", png(slug), "image/png")}
    image = expect(await http.post("/images/upload", files=files, headers=staff), 201)
    served = await http.get(image["imageUrl"])
    assert served.status_code == 200, f"GET {image['imageUrl']} answered {served.status_code}"
    assert served.headers["content-type"] == "image/png", served.headers
    assert served.headers.get("etag"), served.headers
    expect(await http.get(image["imageUrl"], headers={"If-None-Match": served.headers["etag"]}), 304)

    photo = [{"imageUrl": image["imageUrl"], "isPrimary": True, "altText": "A shoe"}]
    shown = await product(http, admin, caused, categoryIds=[category["id"]], images=photo)
    read = expect(await http.get(f"/products/id/{shown.id}"), 200)
    read = read.get("data", read)
    assert read["images"][0]["imageUrl"] == image["imageUrl"], read
    assert read["images"][0]["thumbnailUrl"], read

    word = unique("bulk").replace("-", "")
    drafts = [
        {
            "sku": f"SKU-{word.upper()}-{n}",
            "name": {"en": f"Bulk {word} {n}"},
            "categoryIds": [category["id"]],
            "variants": [{"attributes": {"Size": "M"}, "price": "9.90", "initialStockQuantity": 5}],
        }
        for n in (1, 2)
    ]
    bulk = expect(await http.post("/products/bulk", json=drafts, headers=staff), 201)
    for created in bulk["createdProducts"]:
        caused.event(products.PRODUCT_EVENTS, products.PRODUCT_CREATED, created["id"])

    listed = expect(await http.get("/products", params={"categorySlug": slug, "limit": 10}), 200)
    expected = {shown.id, *(created["id"] for created in bulk["createdProducts"])}
    assert {p["id"] for p in listed["data"]} == expected, listed
    assert all(v["stockQuantity"] > 0 for p in listed["data"] for v in p["variants"]), listed
    refused(await http.post("/products", json=drafts[0]), 401)
    return caused


async def search(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A new product is found by a word of its name (even misspelled), by its SKU, and completed by the
    search box; the hit carries its price and stock.
    """
    caused = Caused()
    word = "lumin" + uuid.uuid4().hex[:8].translate(LETTERS)  # letters only: a word the typo rule applies to
    item = await product(http, admin, caused, word=word, price="30.00")

    async def finds(q: str) -> bool:
        hits = expect(await http.get("/search/products", params={"q": q}), 200)["data"]
        return [hit["id"] for hit in hits] == [item.id]

    await eventually(lambda: finds(word), f"search finds {item.id} by {word!r}")
    assert await finds(item.sku), f"search does not find {item.id} by its SKU {item.sku}"
    middle = len(word) // 2
    typo = word[:middle] + ("x" if word[middle] != "x" else "y") + word[middle + 1 :]
    assert await finds(typo), f"search does not forgive the typo {typo!r}"
    suggested = expect(await http.get("/search/suggest", params={"q": word[:-2]}), 200)
    assert f"{word.title()} shoe" in str(suggested), suggested
    refused(await http.get("/search/products", params={"limit": "many"}), 400)
    return caused


async def guest_cart(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A guest fills a cart at catalog prices (whatever price it sends), changes and removes lines, and
    cannot put in more than is in stock.
    """
    caused = Caused()
    item = await product(http, admin, caused, stock=5, price="25.00")
    red, blue = item.variants
    cart = expect(await http.post("/carts"), 201)
    path = f"/carts/{cart['id']}"
    added = expect(
        await http.post(f"{path}/items", json={"variantId": red, "quantity": 2, "price": 0.01}), 200
    )
    assert [(i["variantId"], i["quantity"], i["price"]) for i in added["items"]] == [(red, 2, "25.00")], added
    added = expect(await http.post(f"{path}/items", json={"variantId": blue, "quantity": 1}), 200)
    line = {i["variantId"]: i["itemId"] for i in added["items"]}
    expect(await http.put(f"{path}/items/{line[blue]}", json={"quantity": 3}), 200)
    expect(await http.delete(f"{path}/items/{line[red]}"), 200)
    refused(
        await http.post(f"{path}/items", json={"variantId": blue, "quantity": 50}),
        409,
        products.INSUFFICIENT_STOCK,
    )
    read = expect(await http.get(path), 200)
    assert [(i["variantId"], i["quantity"]) for i in read["items"]] == [(blue, 3)], read
    assert read["subtotal"] == "75.00", read
    return caused


async def log_in_and_merge(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A guest fills a cart, logs in and the guest cart merges into its own: lines summed, none lost."""
    caused = Caused()
    item = await product(http, admin, caused)
    red, blue = item.variants
    guests = expect(await http.post("/carts"), 201)["id"]
    expect(await http.post(f"/carts/{guests}/items", json={"variantId": red, "quantity": 1}), 200)
    expect(await http.post(f"/carts/{guests}/items", json={"variantId": blue, "quantity": 2}), 200)
    me, _ = await customer(http, caused)
    mine = expect(await http.post("/carts", headers=me), 201)["id"]
    expect(await http.post(f"/carts/{mine}/items", json={"variantId": red, "quantity": 1}, headers=me), 200)

    merged = expect(await http.post("/carts/associate", json={"cartId": guests}, headers=me), 200)
    assert merged["id"] == mine, merged
    assert {i["variantId"]: i["quantity"] for i in merged["items"]} == {red: 2, blue: 2}, merged
    read = expect(await http.get(f"/carts/{mine}", headers=me), 200)
    assert {i["variantId"]: i["quantity"] for i in read["items"]} == {red: 2, blue: 2}, read
    refused(await http.post("/carts/associate", json={"cartId": guests}), 401)
    return caused


async def order_from_cart(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A customer orders its cart (cash on delivery): CONFIRMED at catalog prices, the stock held, the
    cart emptied.
    """
    caused = Caused()
    item = await product(http, admin, caused, stock=6, price="12.50")
    red, blue = item.variants
    me, email = await customer(http, caused)
    cart = expect(await http.post("/carts", headers=me), 201)["id"]
    expect(await http.post(f"/carts/{cart}/items", json={"variantId": red, "quantity": 2}, headers=me), 200)
    expect(await http.post(f"/carts/{cart}/items", json={"variantId": blue, "quantity": 1}, headers=me), 200)

    order = await place(http, admin, order_body(cartId=cart), me)
    caused.order(order)
    assert (order["status"], order["totalAmount"], order["customerEmail"]) == ("CONFIRMED", "37.50", email), (
        order
    )
    assert sorted((i["variantId"], i["quantity"]) for i in order["items"]) == sorted([(red, 2), (blue, 1)])
    assert await stock_now(http, admin, caused, item) == {red: 4, blue: 5}
    left = expect(await http.get(f"/carts/{cart}", headers=me), 200)
    assert left["items"] == [], left
    return caused


async def pay_by_card(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A customer and a guest pay by card: PAID with the provider's transaction, in USD; the guest reads
    its order back with the token it was given, or its e-mail.
    """
    caused = Caused()
    item = await product(http, admin, caused, stock=4, price="40.00")
    red, _ = item.variants
    me, _ = await customer(http, caused)
    card = {"paymentMethod": "CREDIT_CARD", "paymentToken": "tok_visa"}
    paid = await place(http, admin, order_body({red: 1}, **card), me)
    caused.order(paid)
    assert (paid["status"], paid["totalAmount"]) == ("PAID", "40.00"), paid
    assert paid["paymentTransactionId"], paid

    details = guest(**card)
    theirs = await place(http, admin, order_body({red: 2}, **details))
    caused.order(theirs)
    assert (theirs["status"], theirs["totalAmount"], theirs["displayCurrency"]) == ("PAID", "80.00", "USD")
    if theirs.get("guest_token"):  # a 201 gives the guest its token; a 202 followed by staff does not
        lookup = {"orderId": theirs["id"], "token": theirs["guest_token"]}
        expect(await http.post("/orders/guest-lookup", json=lookup), 200)
    by_email = {"orderId": theirs["id"], "email": details["guestEmail"]}
    assert expect(await http.post("/orders/guest-lookup", json=by_email), 200)["status"] == "PAID"
    assert (await stock_now(http, admin, caused, item))[red] == 1
    return caused


async def order_shows_product_names(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A customer sees its order, and in its list, with each line's product name in its language."""
    caused = Caused()
    shoe = await product(http, admin, caused)
    boot = await product(http, admin, caused)
    me, email = await customer(http, caused)
    order = await place(http, admin, order_body({shoe.variants[0]: 1, boot.variants[1]: 1}), me)
    caused.order(order)
    names = {shoe.variants[0]: shoe.name, boot.variants[1]: boot.name}
    for language in ("en", "fr"):
        read = expect(
            await http.get(f"/orders/{order['id']}", headers={**me, "Accept-Language": language}), 200
        )
        assert {i["variantId"]: i["productName"] for i in read["items"]} == {
            v: name[language] for v, name in names.items()
        }, read
        assert read["customerEmail"] == email, read
    mine = expect(await http.get("/orders/my-orders", headers=me), 200)
    assert [o["id"] for o in mine["data"]] == [order["id"]], mine
    assert {i["productName"] for i in mine["data"][0]["items"]} == {n["en"] for n in names.values()}, mine
    await stock_now(http, admin, caused, shoe)
    await stock_now(http, admin, caused, boot)
    return caused


async def cancel_another(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """A customer places two orders and cancels the second: its stock comes back, the first is untouched,
    and a cancelled order cannot be cancelled again.
    """
    caused = Caused()
    item = await product(http, admin, caused, stock=5)
    red, _ = item.variants
    me, _ = await customer(http, caused)
    kept = await place(http, admin, order_body({red: 1}), me)
    other = await place(
        http, admin, order_body({red: 2}, paymentMethod="CREDIT_CARD", paymentToken="tok_visa"), me
    )
    caused.order(kept)
    caused.order(other)
    assert (kept["status"], other["status"]) == ("CONFIRMED", "PAID")
    assert (await stock_now(http, admin, caused, item))[red] == 2

    cancelled = expect(await http.post(f"/orders/{other['id']}/cancel", headers=me), 200)
    if cancelled["status"] == OrderStatus.CANCELLING:  # the saga refunds and releases: follow it
        found: dict[str, str] = {}

        async def done() -> bool:
            found.update(expect(await http.get(f"/orders/{other['id']}", headers=me), 200))
            return found["status"] != OrderStatus.CANCELLING

        await eventually(done, f"order {other['id']} leaves CANCELLING")
        cancelled = found
    assert cancelled["status"] == "CANCELLED", cancelled
    caused.event(orders.ORDER_EVENTS, orders.ORDER_CANCELLED, other["id"])
    assert (await stock_now(http, admin, caused, item))[red] == 4
    assert expect(await http.get(f"/orders/{kept['id']}", headers=me), 200)["status"] == "CONFIRMED"
    refused(await http.post(f"/orders/{other['id']}/cancel", headers=me), 409, orders.ORDER_NOT_CANCELLABLE)
    return caused


async def nothing_wrong(http: httpx.AsyncClient, admin: Admin) -> Caused:
    """Nothing wrong comes back: bad orders are 400s naming the field, short stock a 409 naming the
    variant, a declined card a 402 that gives the stock back, others' orders 404, staff routes 401/403,
    a delivered order returnable but not cancellable, and no service's /metrics through the gateway.
    """
    caused = Caused()
    item = await product(http, admin, caused, stock=3, price="20.00")
    red, blue = item.variants
    me, _ = await customer(http, caused)
    stranger, _ = await customer(http, caused)

    bad = refused(await send(http, "POST", "/orders", json=order_body({red: 0}, **guest())), 400)
    assert "items.0.quantity" in [d.get("field") for d in bad.get("details", [])], bad
    malformed = await send(
        http, "POST", "/orders", content=b'{"items": [', headers={"content-type": "application/json"}
    )
    refused(malformed, 400, "MalformedJson")
    unknown = order_body({unique("no-such-variant"): 1}, **guest())
    refused(await send(http, "POST", "/orders", json=unknown), 400, products.VARIANT_NOT_FOUND)

    short = refused(await send(http, "POST", "/orders", json=order_body({red: 4}, **guest())), 409)
    assert short["code"] == products.INSUFFICIENT_STOCK, short
    assert {"variantId": red, "requested": 4, "available": 3}.items() <= short["details"][0].items(), short
    declined = order_body({blue: 2}, paymentMethod="CREDIT_CARD", paymentToken="tok_declined")
    refusal = refused(
        await send(http, "POST", "/orders", json=declined, headers=me), 402, orders.PAYMENT_DECLINED
    )
    for answer in (short, refusal):  # an order the saga failed is announced failed
        for failed in (d["orderId"] for d in answer.get("details", []) if "orderId" in d):
            caused.event(orders.ORDER_EVENTS, orders.ORDER_FAILED, failed)
    assert await stock_now(http, admin, caused, item) == {red: 3, blue: 3}

    order = await place(http, admin, order_body({red: 1}), me)
    caused.order(order)
    path = f"/orders/{order['id']}"
    refused(await http.get(path, headers=stranger), 404)
    refused(await http.get(path), 404)
    refused(await http.get("/orders"), 401)
    refused(await http.get("/orders", headers=me), 403)
    refused(await http.put(f"{path}/status", json={"status": "SHIPPED"}, headers=me), 403)
    assert expect(await http.get(path, headers=me), 200)["isReturnable"] is False

    staff = await admin.headers(http)
    for status, event in (("SHIPPED", orders.ORDER_SHIPPED), ("DELIVERED", orders.ORDER_DELIVERED)):
        moved = expect(await http.put(f"{path}/status", json={"status": status}, headers=staff), 200)
        assert moved["status"] == status, moved
        caused.event(orders.ORDER_EVENTS, event, order["id"])
    delivered = expect(await http.get(path, headers=me), 200)
    assert (delivered["isReturnable"], delivered["isCancellable"]) == (True, False), delivered
    refused(await http.post(f"{path}/cancel", headers=me), 409, orders.ORDER_NOT_CANCELLABLE)
    refused(await http.put(f"{path}/status", json={"status": "PAID"}, headers=staff), 400)
    assert Decimal(delivered["totalAmount"]) == Decimal("20.00"), delivered
    refused(await http.get("/orders/metrics"), 404)
    await stock_now(http, admin, caused, item)
    return caused


SCENARIOS: dict[str, Scenario] = {
    "gateway answers": gateway_answers,
    "register": register_account,
    "log in": log_in_account,
    "build a catalog": build_catalog,
    "search": search,
    "fill a guest cart": guest_cart,
    "log in and merge the cart": log_in_and_merge,
    "order from the cart": order_from_cart,
    "pay by card": pay_by_card,
    "see the order with product names": order_shows_product_names,
    "cancel another order": cancel_another,
    "nothing wrong comes back": nothing_wrong,
}
