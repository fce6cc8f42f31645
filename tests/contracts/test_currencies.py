"""The one conversion products, search and orders show prices with: half to even, to the currency's units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts.currencies import BASE_RATE, Rate, UnknownCurrency, amount_text, rate_text, requested


@pytest.mark.parametrize(
    ("base", "rate", "code", "shown"),
    [
        ("19.99", "0.92", "EUR", "18.39"),  # 18.3908
        ("0.05", "0.5", "EUR", "0.02"),  # 0.025: half to even, down
        ("0.07", "0.5", "EUR", "0.04"),  # 0.035: half to even, up
        ("19.99", "151.5", "JPY", "3028"),  # no cents
        ("10.00", "135.5", "DZD", "1355.00"),
        ("10.00", "1", "USD", "10.00"),
    ],
)
def test_convert_rounds_half_to_even_to_the_currency_s_units(
    base: str, rate: str, code: str, shown: str
) -> None:
    assert amount_text(Rate(code, Decimal(rate)).convert(Decimal(base))) == shown


def test_a_bound_goes_back_to_the_base_unrounded() -> None:
    assert Rate("EUR", Decimal("0.8")).to_base(Decimal("8")) == Decimal(10)
    assert BASE_RATE.to_base(Decimal("8")) == Decimal(8)


@pytest.mark.parametrize(("header", "code"), [(None, None), ("", None), (" eur ", "EUR"), ("USD", "USD")])
def test_the_header_is_upper_cased(header: str | None, code: str | None) -> None:
    assert requested(header) == code


@pytest.mark.parametrize("header", ["EURO", "E1", "€", "us d"])
def test_a_header_that_is_no_code_is_an_unknown_currency(header: str) -> None:
    with pytest.raises(UnknownCurrency):
        requested(header)


def test_rates_print_without_trailing_zeros() -> None:
    assert [rate_text(Decimal(r)) for r in ("1.000000", "0.920000", "135.500000", "100")] == [
        "1",
        "0.92",
        "135.5",
        "100",
    ]
