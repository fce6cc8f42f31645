"""Through the gateway, on the embedded platform and on real servers (PostgreSQL databases, Elasticsearch):
rates at `/products/currencies`, and an order in EUR that shows EUR prices (product, search, order) and
keeps its base amount, still at its recorded rate after the rate moved; an unknown currency is a 400
everywhere. Promotions at `/products/promotions`: staff write and reorder them, the storefront sees the
active ones not expired, in its language.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import EMBEDDED_AND_REAL, Shop
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), EMBEDDED_AND_REAL]


async def test_an_order_in_eur_shows_eur_prices_and_keeps_its_base_amount(shop: Shop) -> None:
    word = "kron" + "".join(random.choices(string.ascii_lowercase, k=6))
    body = {
        "sku": f"SKU-{word.upper()}",
        "name": {"en": f"{word.title()} kettle"},
        "variants": [{"attributes": {"Color": "Steel"}, "price": "25.00", "initialStockQuantity": 5}],
    }
    created = await shop.http.post("/products", json=body, headers=shop.admin)
    assert created.status_code == 201, created.text
    product_id, variant_id = created.json()["id"], created.json()["variants"][0]["id"]
    eur = {"X-Currency": "EUR"}

    product = (await shop.http.get(f"/products/id/{product_id}", headers=eur)).json()
    assert product["meta"]["displayCurrency"] == "EUR"
    assert (product["data"]["variants"][0]["price"], product["data"]["variants"][0]["basePrice"]) == (
        "23.00",
        "25.00",
    )

    async def searched_in_eur() -> bool:
        answer = (await shop.http.get("/search/products", params={"q": word}, headers=eur)).json()
        hits = [h for h in answer["data"] if h["id"] == product_id]
        return (
            bool(hits) and answer["meta"]["currency"] == "EUR" and hits[0]["variants"][0]["price"] == "23.00"
        )

    await eventually(searched_in_eur, within=30, interval=0.2)

    placed = await shop.order(
        variant_id, quantity=2, headers=eur, guestEmail="eu@example.com", guestName="Eu"
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["displayCurrency"], order["exchangeRateAtPurchase"]) == ("EUR", "0.92")
    assert (order["totalAmount"], order["displayTotalAmount"]) == ("50.00", "46.00")
    assert (order["items"][0]["priceAtTimeOfOrder"], order["items"][0]["displayPriceAtTimeOfOrder"]) == (
        "25.00",
        "23.00",
    )

    moved = await shop.http.put("/products/currencies/EUR", json={"rateVsBase": "0.95"}, headers=shop.admin)
    assert moved.status_code == 200, moved.text
    try:
        read = await shop.http.get(
            f"/orders/{order['id']}", params={"guest_token": order["guest_token"]}, headers=eur
        )
        assert read.status_code == 200, read.text
        assert (read.json()["displayTotalAmount"], read.json()["exchangeRateAtPurchase"]) == ("46.00", "0.92")
        now = (await shop.http.get(f"/products/id/{product_id}", headers=eur)).json()
        assert now["data"]["variants"][0]["price"] == "23.75"  # products read the rate as it is now
    finally:
        await shop.http.put("/products/currencies/EUR", json={"rateVsBase": "0.92"}, headers=shop.admin)


async def test_an_unknown_currency_is_a_400_in_products_search_and_orders(shop: Shop) -> None:
    created = await shop.http.post(
        "/products",
        json={
            "sku": f"SKU-U{random.randrange(10**9)}",
            "name": {"en": "Mug"},
            "variants": [{"attributes": {"Color": "Red"}, "price": "8.00", "initialStockQuantity": 5}],
        },
        headers=shop.admin,
    )
    variant_id = created.json()["variants"][0]["id"]
    odd = {"X-Currency": "XQZ"}
    answers = [
        await shop.http.get("/products", headers=odd),
        await shop.http.get("/search/products", headers=odd),
        await shop.order(variant_id, headers=odd, guestEmail="x@example.com", guestName="X"),
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(400, "UnknownCurrency")] * 3
    pending = await shop.http.get("/orders", params={"search": "x@example.com"}, headers=shop.admin)
    assert pending.json()["pagination"]["total"] == 0  # refused before anything was written


async def test_anyone_reads_the_rates_and_only_write_currency_holders_set_them(shop: Shop) -> None:
    listed = await shop.http.get("/products/currencies")
    assert listed.status_code == 200
    assert {r["code"] for r in listed.json()} >= {"USD", "EUR", "DZD"}
    customer, _ = await shop.customer()
    refused = await shop.http.post(
        "/products/currencies", json={"code": "CHF", "rateVsBase": "0.9"}, headers=customer
    )
    assert refused.status_code == 403
    set_ = await shop.http.post(
        "/products/currencies", json={"code": "chf", "rateVsBase": "0.9"}, headers=shop.admin
    )
    assert (set_.status_code, set_.json()["code"], set_.json()["rateVsBase"]) == (200, "CHF", "0.9")
    assert (await shop.http.get("/products/currencies/CHF")).json()["rateVsBase"] == "0.9"


async def test_the_merged_api_docs_describe_the_currency_and_promotion_routes(shop: Shop) -> None:
    document = (await shop.http.get("/openapi.json")).json()
    paths = document["paths"]
    assert {"get", "post"} <= paths["/products/currencies"].keys()
    assert {"get", "put"} <= paths["/products/currencies/{code}"].keys()
    assert {"get", "post"} <= paths["/products/promotions"].keys()
    assert {"get", "put", "delete"} <= paths["/products/promotions/{promotion_id}"].keys()
    assert {"put"} <= paths["/products/promotions/reorder"].keys()
    for path, method in (("/products", "get"), ("/search/products", "get"), ("/orders", "post")):
        names = {p["name"] for p in paths[path][method].get("parameters", [])}
        assert "X-Currency" in names, path


async def test_the_storefront_shows_the_promotions_staff_wrote_and_ordered(shop: Shop) -> None:
    def banner(title: str, **fields: Any) -> dict[str, Any]:
        return {
            "title": {"en": title, "fr": f"{title} FR"},
            "ctaText": {"en": "Shop"},
            "ctaLink": "/shop/all",
            "imageUrl": "https://i.imgur.com/x.png",
            "isActive": True,
        } | fields

    expired = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    ids = []
    for body in (banner("Fan"), banner("Chair"), banner("Jogger", expiresAt=expired)):
        created = await shop.http.post("/products/promotions", json=body, headers=shop.admin)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    customer, _ = await shop.customer()
    refused = await shop.http.put("/products/promotions/reorder", json={"orderedIds": ids}, headers=customer)
    assert refused.status_code == 403
    reordered = await shop.http.put(
        "/products/promotions/reorder", json={"orderedIds": [ids[1], ids[0], ids[2]]}, headers=shop.admin
    )
    assert reordered.status_code == 200, reordered.text

    shown = await shop.http.get("/products/promotions", headers={"Accept-Language": "fr"})
    assert [p["title"] for p in shown.json()] == ["Chair FR", "Fan FR"]
    everything = await shop.http.get("/products/promotions/all", headers=shop.admin)
    assert [p["title"]["en"] for p in everything.json()] == ["Chair", "Fan", "Jogger"]
