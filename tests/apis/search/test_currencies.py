"""`X-Currency` on the search service: hits' prices converted at the products service's rates (read through
the contracts' cached client, the base price kept), price bounds taken in that currency, an unknown currency
a 400, and a search without one never calling the products service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from apis.products.app import create_app as create_products
from apis.search.app import create_app
from contracts.currencies import MISS_REFRESH
from kit.search import SearchIndex
from kit.settings import Settings
from tests.apis.products.conftest import Tokens
from tests.support import asgi_client, embedded_settings, free_port, served


@pytest.fixture
async def products_url(tmp_path: Path) -> AsyncIterator[tuple[str, Tokens]]:
    """The products service over real HTTP, with the seeded rates; its admin's tokens."""
    port = free_port()  # the port it registers itself at in this process's static registry
    settings = embedded_settings(tmp_path / "products", ports={"products": port})
    app = create_products(settings)
    tokens = Tokens(settings.jwt_issuer)
    app.state.token_verifier = tokens.verifier()
    async with served(app, port) as url:
        yield url, tokens


def with_products(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"discovery_url": f"static://?products={url}"})


@pytest.fixture
async def client(
    search_settings: Settings, index: SearchIndex, products_url: tuple[str, Tokens]
) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(with_products(search_settings, products_url[0]))) as client:
        yield client


def prices(body: dict[str, object], product_id: str) -> list[tuple[str, str]]:
    hit = next(h for h in body["data"] if h["id"] == product_id)  # type: ignore[attr-defined]
    return [(v["price"], v["basePrice"]) for v in hit["variants"]]


async def test_hits_show_eur_prices_and_keep_their_base_prices(client: httpx.AsyncClient) -> None:
    response = await client.get("/products", params={"q": "lamp"}, headers={"X-Currency": "eur"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {
        "currency": "EUR",
        "displayCurrency": "EUR",
        "baseCurrency": "USD",
        "rate": "0.92",
    }
    assert prices(body, "p1") == [("18.39", "19.99"), ("22.99", "24.99")]


async def test_without_a_currency_prices_are_the_base_ones(client: httpx.AsyncClient) -> None:
    body = (await client.get("/products", params={"q": "lamp"})).json()
    assert body["meta"]["currency"] == "USD"
    assert prices(body, "p1") == [("19.99", "19.99"), ("24.99", "24.99")]


async def test_price_bounds_are_in_the_currency_asked_for(client: httpx.AsyncClient) -> None:
    # the mug costs 8.50 USD = 7.82 EUR: under 8 EUR, not under 8 USD
    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [hit["id"] for hit in response.json()["data"]]

    assert ids(await client.get("/products", params={"maxPrice": "8"}, headers={"X-Currency": "EUR"})) == [
        "p5"
    ]
    assert ids(await client.get("/products", params={"maxPrice": "8"})) == []


@pytest.mark.parametrize("currency", ["XQZ", "EURO"])
async def test_an_unknown_currency_is_a_400(client: httpx.AsyncClient, currency: str) -> None:
    response = await client.get("/products", headers={"X-Currency": currency})
    assert response.status_code == 400
    assert response.json()["code"] == "UnknownCurrency"


async def test_a_rate_added_after_the_cache_was_filled_is_found(
    client: httpx.AsyncClient, products_url: tuple[str, Tokens]
) -> None:
    assert (await client.get("/products", headers={"X-Currency": "EUR"})).status_code == 200  # cache filled
    url, tokens = products_url
    async with httpx.AsyncClient(base_url=url, headers=tokens.headers("admin")) as products:
        added = await products.post("/currencies", json={"code": "GBP", "rateVsBase": "0.8"})
        assert added.status_code == 200, added.text
    await asyncio.sleep(MISS_REFRESH)  # an unknown code reads the rates again at most this often
    response = await client.get("/products", params={"q": "mug"}, headers={"X-Currency": "GBP"})
    assert response.status_code == 200, response.text
    assert prices(response.json(), "p5") == [("6.80", "8.50"), ("6.80", "8.50")]


async def test_a_search_without_a_currency_needs_no_products_service(
    search_settings: Settings, index: SearchIndex
) -> None:
    nowhere = with_products(search_settings, f"http://127.0.0.1:{free_port()}")
    async with asgi_client(create_app(nowhere)) as client:
        assert (await client.get("/products")).status_code == 200
        assert (await client.get("/products", headers={"X-Currency": "USD"})).status_code == 200
        down = await client.get("/products", headers={"X-Currency": "EUR"})
        assert down.status_code == 503
        assert down.json()["code"] == "UpstreamUnavailable"
