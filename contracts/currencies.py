"""Currencies: exchange rates against one base currency, kept by the products service (`/currencies`), and
the one conversion the products, search and orders services show prices with.

Prices are stored and charged in the base currency (`BASE_CURRENCY`, seeded with rate 1 and never moved:
moving it would reprice every product and every order). A caller asks for another currency with
`X-Currency: EUR`; an answer then shows `price` converted and keeps the base amount beside it
(`basePrice`). A currency without a rate is a 400 `UnknownCurrency`, never a silent rate of 1.

Rounding: `amount x rate`, rounded half to even (banker's rounding, no bias over many lines) to the
currency's minor units: 0 for the currencies without cents (`ZERO_DECIMAL`: JPY, KRW, ...), 2 for every
other one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import PlainSerializer, WithJsonSchema

from kit.clients import ServiceClient
from kit.errors import BadRequest, NotFound

BASE_CURRENCY = "USD"
CURRENCY_HEADER = "X-Currency"
UNKNOWN_CURRENCY = "UnknownCurrency"

# Routes of the products service (public reads; writes need `write:currency`).
CURRENCIES_PATH = "/currencies"
CURRENCY_PATH = "/currencies/{code}"

ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF"}
)
MISS_REFRESH = 1.0  # seconds: an unknown code makes a cached client read the rates again at most this often
RATE_PLACES = 6  # rates are stored with six decimals (`Numeric(12, 6)` in products and orders)
CODE = re.compile(r"^[A-Z]{3}$")


class UnknownCurrency(BadRequest):
    default_code = UNKNOWN_CURRENCY

    def __init__(self, code: str) -> None:
        super().__init__(
            f"Currency '{code}' is not supported.", details=[{"field": CURRENCY_HEADER, "currency": code}]
        )


def minor_units(code: str) -> int:
    return 0 if code in ZERO_DECIMAL else 2


def rounded(amount: Decimal, code: str) -> Decimal:
    """`amount` to the minor units of `code`, half to even."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(code)), rounding=ROUND_HALF_EVEN)


def amount_text(amount: Decimal) -> str:
    """A decimal string with the places it carries (`"9.20"`, `"1230"` for yen): never exponent notation."""
    return f"{amount:f}"


AMOUNT_SENT_PATTERN = (
    r"^\d+(\.\d{1,2})?$"  # a converted amount: `"9.20"`, or `"1230"` in a currency without cents
)
Amount = Annotated[
    Decimal,
    PlainSerializer(amount_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": AMOUNT_SENT_PATTERN,
            "description": "A decimal in its currency's units",
        },
        mode="serialization",
    ),
]
"""An amount in the currency asked for, with its minor units, as answers send it."""


def requested(header: str | None) -> str | None:
    """The currency an `X-Currency` header asks for, upper-cased; None without one. Not three letters: 400."""
    if header is None or not header.strip():
        return None
    code = header.strip().upper()
    if not CODE.match(code):
        raise UnknownCurrency(header.strip()[:10])
    return code


def rate_text(rate: Decimal) -> str:
    """A rate without trailing zeros (`"0.92"`, `"135.5"`, `"1"`), as the seed's Decimal printed it."""
    return f"{rate.normalize():f}"


@dataclass(frozen=True)
class Rate:
    """How many units of `code` one unit of the base currency buys."""

    code: str
    rate_vs_base: Decimal
    is_base: bool = False
    updated_at: datetime | None = None

    def convert(self, base_amount: Decimal) -> Decimal:
        """A base amount in this currency, rounded to its minor units."""
        return rounded(base_amount * self.rate_vs_base, self.code)

    def to_base(self, amount: Decimal) -> Decimal:
        """An amount of this currency in the base currency, unrounded (a price filter's bound)."""
        return amount / self.rate_vs_base


BASE_RATE = Rate(BASE_CURRENCY, Decimal(1), is_base=True)


def rate_from(body: dict[str, Any]) -> Rate:
    """A rate as `GET /currencies` answers it."""
    updated = body.get("updatedAt") or body.get("lastUpdated")
    return Rate(
        code=str(body["code"]),
        rate_vs_base=Decimal(str(body["rateVsBase"])),
        is_base=bool(body.get("isBase", False)),
        updated_at=datetime.fromisoformat(str(updated).replace("Z", "+00:00")) if updated else None,
    )


class CurrenciesClient:
    """The rates as other services read them from the products service.

    `rate()` reads the rate table through a cache of `ttl` seconds (search answers, where a rate a few
    seconds old is good enough and the products service must not be called per search); an unknown code
    refreshes the table once (at most every `MISS_REFRESH` seconds) before it is refused, so a rate just
    added is found.
    `fresh_rate()` reads one rate now: the rate an order records.
    """

    def __init__(self, http: ServiceClient, *, ttl: float = 30.0) -> None:
        self._http = http
        self._ttl = ttl
        self._rates: dict[str, Rate] = {}
        self._read_at = float("-inf")

    async def rates(self) -> dict[str, Rate]:
        if time.monotonic() - self._read_at > self._ttl:
            await self._refresh()
        return self._rates

    async def rate(self, code: str | None) -> Rate:
        """The rate of `code` (the base's, without one); `UnknownCurrency` when it has none."""
        if code is None or code == BASE_CURRENCY:
            return BASE_RATE
        found = (await self.rates()).get(code)
        if found is None and time.monotonic() - self._read_at > MISS_REFRESH:
            await self._refresh()
            found = self._rates.get(code)
        if found is None:
            raise UnknownCurrency(code)
        return found

    async def fresh_rate(self, code: str | None) -> Rate:
        if code is None or code == BASE_CURRENCY:
            return BASE_RATE
        try:
            body: dict[str, Any] = await self._http.get(CURRENCY_PATH.format(code=code))
        except NotFound as missing:
            raise UnknownCurrency(code) from missing
        return rate_from(body)

    async def _refresh(self) -> None:
        listed: list[dict[str, Any]] = await self._http.get(CURRENCIES_PATH)
        self._rates = {rate.code: rate for rate in map(rate_from, listed)}
        self._read_at = time.monotonic()
