"""Wire conventions every API shares (DESIGN.md section 5): camelCase fields, money as two-decimal
strings (the seed's Prisma Decimal), UTC timestamps, and the list envelope `{data, pagination}`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    """camelCase on the wire, snake_case in Python; reads ORM objects too. (Strings are trimmed per field,
    never globally: a password keeps its spaces.)
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


Timestamp = datetime  # as read from a `kit.db.UTCDateTime` column: aware, in UTC

MONEY_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"  # what a client may send: `19.99`, `20`, `0.5`
MONEY_SENT_PATTERN = r"^\d{1,10}\.\d{2}$"  # what every answer holds: always two decimals
_MONEY_TEXT = re.compile(MONEY_PATTERN)


def _money_text(value: Any) -> Any:
    """A price given as text is a plain decimal (no sign, exponent, spaces, NaN): what the document says."""
    if isinstance(value, str) and not _MONEY_TEXT.match(value):
        raise ValueError('must be a decimal string with at most two decimals, like "19.99"')
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_money_text),
    Field(ge=0, max_digits=12, decimal_places=2),
    PlainSerializer(_money, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": MONEY_PATTERN},
                {"type": "number", "minimum": 0, "maximum": 9_999_999_999.99},
            ],
            "description": 'A decimal with at most two decimals: a string (`"19.99"`), or a JSON number',
        },
        mode="validation",
    ),
    WithJsonSchema(
        {"type": "string", "pattern": MONEY_SENT_PATTERN, "description": "A decimal with two decimals"},
        mode="serialization",
    ),
]

_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
EMAIL_MAX_LENGTH = 254  # RFC 5321's path limit, less the angle brackets


def normalise_email(value: str) -> str:
    """Trimmed and lower-cased, so that uniqueness ignores case; the shape of an address is checked."""
    email = value.strip().lower()
    if len(email) > EMAIL_MAX_LENGTH or len(email.partition("@")[0]) > 64 or not _EMAIL.match(email):
        raise ValueError("must be a valid email address")
    return email


# An e-mail address as every service reads one (auth's accounts, orders' guests), documented as one.
Email = Annotated[
    str,
    StringConstraints(max_length=320),  # before trimming; normalise_email bounds the address itself
    AfterValidator(normalise_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH}),
]


class Pagination(Schema):
    total: int
    page: int
    limit: int
    total_pages: int

    @classmethod
    def of(cls, total: int, page: int, limit: int) -> Pagination:
        return cls(total=total, page=page, limit=limit, total_pages=math.ceil(total / limit) if limit else 0)


Page = Annotated[int, Field(ge=1, le=100_000, description="1-based page number")]
Limit = Annotated[int, Field(ge=1, le=100, description="items per page")]
