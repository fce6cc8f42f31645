"""An order placed with `X-Currency`, on SQLite and on the real PostgreSQL: it records the currency, the rate
fetched when it was accepted and its amounts in that currency, keeps (and has the saga charge) the base
amounts, answers a retry with the rate it recorded, and refuses an unknown currency before writing anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.orders import placing, reads
from apis.orders.app import MIGRATIONS
from apis.orders.models import Order
from apis.orders.schemas import OrderCreate
from contracts.carts import CartsClient
from contracts.currencies import BASE_RATE, CurrenciesClient, Rate, UnknownCurrency
from kit import db
from tests.apis.carts.test_service import FakeCatalog, variant
from tests.support import BOTH_DATABASES, scratch_engine

Sessions = async_sessionmaker[AsyncSession]


class FakeRates(CurrenciesClient):
    """The products service's rates, held in memory; counts the reads."""

    def __init__(self, **rates: str) -> None:
        self.rates_now = {code: Decimal(rate) for code, rate in rates.items()}
        self.reads = 0

    async def fresh_rate(self, code: str | None) -> Rate:
        self.reads += 1
        if code is None or code == BASE_RATE.code:
            return BASE_RATE
        if code not in self.rates_now:
            raise UnknownCurrency(code)
        return Rate(code, self.rates_now[code])


@pytest.fixture(params=BOTH_DATABASES)
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sessions]:
    async with scratch_engine(request.param, tmp_path, MIGRATIONS) as engine:
        yield db.session_factory(engine)


def order_body(**fields: Any) -> OrderCreate:
    body = {
        "items": [{"variantId": "v1", "quantity": 2}, {"variantId": "v2", "quantity": 1}],
        "shippingAddress": {"street": "1 Main St", "city": "Lyon", "postalCode": "69001", "country": "FR"},
        "phone": "0612345678",
        "paymentMethod": "CREDIT_CARD",
        "paymentToken": "tok_visa",
        "guestEmail": "gus@example.com",
        "guestName": "Gus",
    }
    return OrderCreate.model_validate(body | fields)


CATALOG = FakeCatalog(variant("v1", "19.99"), variant("v2", "5.05"))
CARTS = CartsClient.__new__(CartsClient)  # never called: the orders here list their items


async def place(sessions: Sessions, rates: FakeRates, currency: str | None, key: str) -> Any:
    return await placing.place_order(
        sessions, CATALOG, CARTS, None, order_body(), key, currencies=rates, currency=currency
    )


async def test_an_order_in_eur_records_eur_amounts_and_keeps_its_base_amounts(sessions: Sessions) -> None:
    order, start, _ = await place(sessions, FakeRates(EUR="0.92"), "EUR", "eur-1")
    async with sessions() as session:
        shown = (await reads.present_one(session, order)).model_dump(mode="json", by_alias=True)
    assert (shown["displayCurrency"], shown["exchangeRateAtPurchase"]) == ("EUR", "0.92")
    assert (shown["totalAmount"], shown["displayTotalAmount"]) == ("45.03", "41.43")  # 2 x 18.39 + 4.65
    lines = {
        i["variantId"]: (i["priceAtTimeOfOrder"], i["displayPriceAtTimeOfOrder"]) for i in shown["items"]
    }
    assert lines == {"v1": ("19.99", "18.39"), "v2": ("5.05", "4.65")}  # 4.646 -> 4.65
    assert start is not None
    assert start.args[0]["amount"] == "45.03"  # the saga charges the base amount


async def test_a_retry_finds_the_order_with_the_rate_it_recorded(sessions: Sessions) -> None:
    rates = FakeRates(EUR="0.92")
    first, _, _ = await place(sessions, rates, "EUR", "retry-1")
    rates.rates_now["EUR"] = Decimal("0.99")  # the rate moved between the two tries
    again, start, _ = await place(sessions, rates, "EUR", "retry-1")
    assert (again.id, again.exchange_rate_at_purchase, start) == (first.id, Decimal("0.92"), None)
    assert rates.reads == 1  # the retry did not even ask


async def test_a_currency_without_cents_shows_whole_units(sessions: Sessions) -> None:
    order, _, _ = await place(sessions, FakeRates(JPY="151.5"), "JPY", "jpy-1")
    async with sessions() as session:
        shown = (await reads.present_one(session, order)).model_dump(mode="json", by_alias=True)
    # 19.99 x 151.5 = 3028.485 -> 3028; 5.05 x 151.5 = 765.075 -> 765
    assert [i["displayPriceAtTimeOfOrder"] for i in shown["items"]] == ["3028", "765"]
    assert shown["displayTotalAmount"] == "6821"


async def test_without_a_currency_the_order_is_in_the_base_currency(sessions: Sessions) -> None:
    order, _, _ = await place(sessions, FakeRates(), None, "base-1")
    assert (order.display_currency, order.exchange_rate_at_purchase) == ("USD", Decimal(1))
    assert order.display_total_amount == order.total_amount == Decimal("45.03")


async def test_an_unknown_currency_is_refused_before_anything_is_written(sessions: Sessions) -> None:
    with pytest.raises(UnknownCurrency) as refused:
        await place(sessions, FakeRates(EUR="0.92"), "XQZ", "unknown-1")
    assert (refused.value.status_code, refused.value.code) == (400, "UnknownCurrency")
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
