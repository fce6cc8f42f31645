"""Payloads of `/currencies`: the seed's `{code, rateVsBase, isBase, lastUpdated}`, plus `updatedAt`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, StringConstraints, computed_field

from contracts.currencies import RATE_PLACES, rate_text
from kit.schemas import Schema, Timestamp


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


Code = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{3}$")]
RateValue = Annotated[
    Decimal,
    Field(gt=0, max_digits=12, decimal_places=RATE_PLACES),
    PlainSerializer(rate_text, return_type=str, when_used="json"),
]


class CurrencyWrite(Schema):
    """Set the rate of a currency (created when new): the same body twice is one change.

    `expectedUpdatedAt` makes the write conditional: it applies only if the rate was last changed at that
    moment (the `updatedAt` the writer read), else 409 `RateChanged`; a rate never set yet expects none.
    """

    code: Code
    rate_vs_base: RateValue
    is_base: bool | None = Field(
        default=None, description="the base stays the base: true only for it, false only for the others"
    )
    expected_updated_at: datetime | None = None


class RateBody(Schema):
    """`PUT /currencies/{code}`: the body without the code, which the path names."""

    rate_vs_base: RateValue
    is_base: bool | None = None
    expected_updated_at: datetime | None = None


class CurrencyRead(Schema):
    code: str
    rate_vs_base: RateValue
    is_base: bool
    updated_at: Timestamp

    @computed_field  # type: ignore[prop-decorator]
    @property
    def last_updated(self) -> datetime:
        """The seed's name of `updatedAt`."""
        return self.updated_at
