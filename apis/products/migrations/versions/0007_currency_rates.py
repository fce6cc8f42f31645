"""Currency rates against the base currency (issue 18): the seed's three (USD the base at 1, EUR 0.92, DZD
135.50), and at most one base (a partial unique index: the seed let several rows claim it).
"""

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = depends_on = None

BASE = sa.text("is_base")
SEEDED = (("USD", Decimal("1"), True), ("EUR", Decimal("0.92"), False), ("DZD", Decimal("135.50"), False))


def upgrade() -> None:
    rates = op.create_table(
        "currency_rates",
        sa.Column("code", sa.String(3), primary_key=True),
        sa.Column("rate_vs_base", sa.Numeric(12, 6), nullable=False),
        sa.Column("is_base", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rate_vs_base > 0", name="ck_currency_rates_positive"),
    )
    op.create_index(
        "uq_currency_rates_one_base",
        "currency_rates",
        ["is_base"],
        unique=True,
        sqlite_where=BASE,
        postgresql_where=BASE,
    )
    moment = datetime.now(UTC)
    op.bulk_insert(
        rates,
        [{"code": c, "rate_vs_base": r, "is_base": b, "updated_at": moment} for c, r, b in SEEDED],
    )


def downgrade() -> None:
    op.drop_table("currency_rates")
