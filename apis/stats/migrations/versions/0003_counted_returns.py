"""Completed returns (issue 18): each one's refund is taken once out of the revenue of its completion day."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "counted_returns",
        sa.Column("return_id", sa.String(100), primary_key=True),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("refunded", sa.Numeric(14, 2), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("counted_returns")
