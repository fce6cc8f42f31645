"""Currencies in the products service, on SQLite and on the real PostgreSQL: the seeded rates, idempotent and
conditional writes by `write:currency` holders only, the base kept fixed, and `X-Currency` on the product
answers (prices converted, the base amount kept, an unknown currency a 400).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop

pytestmark = ON_BOTH_DATABASES


def new_code() -> str:
    """A currency code no other test writes: three letters from a uuid."""
    return "".join(chr(ord("A") + int(c, 16) % 26) for c in uuid.uuid4().hex[:3])


async def test_the_seed_s_rates_are_there_with_usd_the_base(shop: Shop) -> None:
    response = await shop.call("GET", "/currencies", as_=None)
    assert response.status_code == 200
    rates = {r["code"]: (r["rateVsBase"], r["isBase"]) for r in response.json()}
    assert rates == {"DZD": ("135.5", False), "EUR": ("0.92", False), "USD": ("1", True)}
    first = response.json()[0]
    assert first["lastUpdated"] == first["updatedAt"]


async def test_a_rate_is_set_once_whatever_the_repeats(shop: Shop) -> None:
    code = new_code()
    created = await shop.call("POST", "/currencies", json={"code": code.lower(), "rateVsBase": "151.25"})
    assert created.status_code == 200, created.text
    assert (created.json()["code"], created.json()["rateVsBase"]) == (code, "151.25")

    again = await shop.call("POST", "/currencies", json={"code": code, "rateVsBase": 151.25})
    assert again.json()["updatedAt"] == created.json()["updatedAt"]  # the same rate: nothing changed

    moved = await shop.call("PUT", f"/currencies/{code}", json={"rateVsBase": "150"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["rateVsBase"] == "150"
    assert moved.json()["updatedAt"] > created.json()["updatedAt"]
    read = await shop.call("GET", f"/currencies/{code}", as_=None)
    assert read.json() == moved.json()


async def test_a_conditional_write_refuses_a_rate_changed_since_it_was_read(shop: Shop) -> None:
    code = new_code()
    first = (await shop.call("POST", "/currencies", json={"code": code, "rateVsBase": "2"})).json()
    seen = first["updatedAt"]
    ok = await shop.call(
        "POST", "/currencies", json={"code": code, "rateVsBase": "3", "expectedUpdatedAt": seen}
    )
    assert ok.status_code == 200, ok.text

    stale = await shop.call(
        "POST", "/currencies", json={"code": code, "rateVsBase": "4", "expectedUpdatedAt": seen}
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "RateChanged"
    assert (await shop.call("GET", f"/currencies/{code}")).json()["rateVsBase"] == "3"


async def test_concurrent_writes_of_one_new_currency_all_land_on_one_row(shop: Shop) -> None:
    code = new_code()
    rates = [f"1.{n}" for n in range(1, 9)]
    answers = await asyncio.gather(
        *(shop.call("POST", "/currencies", json={"code": code, "rateVsBase": r}) for r in rates)
    )
    assert [a.status_code for a in answers] == [200] * len(rates), [a.text for a in answers]
    final = (await shop.call("GET", f"/currencies/{code}")).json()["rateVsBase"]
    assert final in rates
    listed = [r["code"] for r in (await shop.call("GET", "/currencies")).json()]
    assert listed.count(code) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"code": "EUR", "rateVsBase": "0.9", "isBase": True}, "BaseCurrencyFixed"),
        ({"code": "USD", "rateVsBase": "1.1"}, "BaseCurrencyFixed"),
        ({"code": "USD", "rateVsBase": "1", "isBase": False}, "BaseCurrencyFixed"),
    ],
)
async def test_the_base_stays_the_base_at_rate_1(shop: Shop, body: dict[str, object], code: str) -> None:
    response = await shop.call("POST", "/currencies", json=body)
    assert response.status_code == 409
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    "body",
    [
        {"code": "EURO", "rateVsBase": "1"},
        {"code": "EUR", "rateVsBase": "0"},
        {"code": "EUR", "rateVsBase": "-1"},
        {"code": "EUR", "rateVsBase": "0.1234567"},
        {"code": "EUR"},
        {"rateVsBase": "1"},
    ],
)
async def test_a_bad_rate_is_a_400_naming_the_field(shop: Shop, body: dict[str, object]) -> None:
    response = await shop.call("POST", "/currencies", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"]


async def test_only_write_currency_holders_set_rates(shop: Shop) -> None:
    body = {"code": "EUR", "rateVsBase": "0.5"}
    assert (await shop.call("POST", "/currencies", as_=None, json=body)).status_code == 401
    assert (await shop.call("POST", "/currencies", as_="customer", json=body)).status_code == 403
    assert (await shop.call("PUT", "/currencies/EUR", as_="supervisor", json=body)).status_code == 403
    assert (await shop.call("GET", "/currencies/EUR")).json()["rateVsBase"] == "0.92"


async def test_an_unknown_currency_is_a_404_to_read(shop: Shop) -> None:
    response = await shop.call("GET", "/currencies/XQZ", as_=None)
    assert response.status_code == 404
    assert response.json()["code"] == "CurrencyNotFound"


class TestProductAnswers:
    async def test_a_product_in_eur_shows_eur_prices_and_keeps_its_base_price(self, shop: Shop) -> None:
        product = await shop.product()  # 19.99 USD
        response = await shop.call("GET", f"/id/{product['id']}", as_=None, headers={"X-Currency": "eur"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["meta"] == {
            "currency": "EUR",
            "displayCurrency": "EUR",
            "baseCurrency": "USD",
            "rate": "0.92",
        }
        variant = body["data"]["variants"][0]
        assert (variant["price"], variant["basePrice"]) == ("18.39", "19.99")  # 19.99 x 0.92 = 18.3908

    async def test_the_listing_converts_prices_and_takes_its_bounds_in_the_currency(self, shop: Shop) -> None:
        product = await shop.product()
        eur = {"X-Currency": "EUR"}
        page = await shop.call("GET", "/", as_=None, params={"q": product["sku"]}, headers=eur)
        assert page.status_code == 200, page.text
        assert page.json()["meta"]["currency"] == "EUR"
        assert page.json()["data"][0]["variants"][0]["price"] == "18.39"
        for bound, found in (("18.39", 1), ("18.40", 0)):
            params = {"q": product["sku"], "minPrice": bound}
            page = await shop.call("GET", "/", as_=None, params=params, headers=eur)
            assert page.json()["pagination"]["total"] == found, bound

    async def test_a_currency_without_cents_is_rounded_to_whole_units(self, shop: Shop) -> None:
        product = await shop.product()
        code = new_code()  # a currency with cents, at the same rate
        for currency in ("JPY", code):
            await shop.call("POST", "/currencies", json={"code": currency, "rateVsBase": "151.5"})
        response = await shop.call("GET", f"/id/{product['id']}", as_=None, headers={"X-Currency": "JPY"})
        assert response.json()["data"]["variants"][0]["price"] == "3028"  # 3028.485
        other = await shop.call("GET", f"/id/{product['id']}", as_=None, headers={"X-Currency": code})
        assert other.json()["data"]["variants"][0]["price"] == "3028.48"  # half to even

    async def test_a_product_read_by_sku_shows_eur_prices_and_names_its_currency(self, shop: Shop) -> None:
        product = await shop.product()
        response = await shop.call("GET", f"/sku/{product['sku']}", as_=None, headers={"X-Currency": "EUR"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["displayCurrency"] == "EUR"
        assert (body["variants"][0]["price"], body["variants"][0]["basePrice"]) == ("18.39", "19.99")
        base = await shop.call("GET", f"/sku/{product['sku']}", as_=None)
        assert base.json()["displayCurrency"] == "USD"
        assert base.json()["variants"][0]["price"] == "19.99"

    async def test_a_product_s_variants_show_eur_prices_and_keep_their_base_price(self, shop: Shop) -> None:
        product = await shop.product()
        variant_id = product["variants"][0]["id"]
        eur = {"X-Currency": "EUR"}
        listed = await shop.call("GET", f"/{product['id']}/variants", as_=None, headers=eur)
        one = await shop.call("GET", f"/{product['id']}/variants/{variant_id}", as_=None, headers=eur)
        for variant in (listed.json()[0], one.json()):
            assert (variant["price"], variant["basePrice"]) == ("18.39", "19.99")

    @pytest.mark.parametrize("currency", ["XQZ", "EURO", "E1R"])
    async def test_an_unknown_currency_is_a_400_not_a_rate_of_1(self, shop: Shop, currency: str) -> None:
        product = await shop.product()
        variant_id = product["variants"][0]["id"]
        paths = (
            f"/id/{product['id']}",
            "/",
            f"/sku/{product['sku']}",
            f"/{product['id']}/variants",
            f"/{product['id']}/variants/{variant_id}",
        )
        for path in paths:
            response = await shop.call("GET", path, as_=None, headers={"X-Currency": currency})
            assert response.status_code == 400, response.text
            assert response.json()["code"] == "UnknownCurrency"

    async def test_staff_see_the_cost_price_converted_too(self, shop: Shop) -> None:
        variants = [{"attributes": {"Size": "M"}, "price": "10.00", "costPrice": "4.00"}]
        product = await shop.product(variants=variants)
        response = await shop.call("GET", f"/id/{product['id']}", headers={"X-Currency": "DZD"})
        variant = response.json()["data"]["variants"][0]
        assert (variant["price"], variant["basePrice"], variant["costPrice"]) == (
            "1355.00",
            "10.00",
            "542.00",
        )
