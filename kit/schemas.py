"""Wire conventions every API shares (DESIGN.md section 5): camelCase fields, money as two-decimal
strings (the seed's Prisma Decimal), UTC timestamps, and the list envelope `{data, pagination}`.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    """camelCase on the wire, snake_case in Python; reads ORM objects too. (Strings are trimmed per field,
    never globally: a password keeps its spaces.)
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


Timestamp = datetime  # as read from a `kit.db.UTCDateTime` column: aware, in UTC
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    PlainSerializer(_money, return_type=str, when_used="json"),
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
