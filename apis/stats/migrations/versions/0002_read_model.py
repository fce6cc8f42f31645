"""The read model: handled events, customers, counted orders, daily figures, variants' sales."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = depends_on = None

Money = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "handled_events",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "customers",
        sa.Column("user_id", sa.String(100), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
    )
    op.create_table(
        "counted_orders",
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("revenue", Money, nullable=False),
        sa.Column("expenses", Money, nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "daily_figures",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("new_customers", sa.Integer(), nullable=False),
        sa.Column("new_orders", sa.Integer(), nullable=False),
        sa.Column("revenue", Money, nullable=False),
        sa.Column("expenses", Money, nullable=False),
    )
    op.create_table(
        "variant_sales",
        sa.Column("variant_id", sa.String(100), primary_key=True),
        sa.Column("product_id", sa.String(100), nullable=False, index=True),
        sa.Column("product_name", sa.JSON(), nullable=False),
        sa.Column("variant_attributes", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("revenue", Money, nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("variant_sales", "daily_figures", "counted_orders", "customers", "handled_events"):
        op.drop_table(table)
