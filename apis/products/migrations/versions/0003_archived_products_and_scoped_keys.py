"""Archived products (a product with orders is archived, not deleted: its ledger stays) and idempotency keys
scoped to their caller (stored as `{caller}/{key}`, hence a longer column).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = depends_on = None

ORDERS = "service:orders"  # the only caller of order movements so far: their keys become its own


def upgrade() -> None:
    op.add_column("product", sa.Column("archived_at", sa.DateTime(timezone=True)))
    op.add_column("product", sa.Column("archived_sku", sa.String(100)))
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not enforce lengths (nor alter columns)
        op.alter_column("stock_movement", "idempotency_key", type_=sa.String(300))
    op.execute(
        sa.text(
            "UPDATE stock_movement SET idempotency_key = :prefix || idempotency_key"
            " WHERE idempotency_key IS NOT NULL AND type IN ('ORDER', 'ORDER_CANCELLED')"
        ).bindparams(prefix=f"{ORDERS}/")
    )


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE stock_movement SET idempotency_key = substr(idempotency_key, :start)"
            " WHERE idempotency_key LIKE :prefix"
        ).bindparams(start=len(ORDERS) + 2, prefix=f"{ORDERS}/%")
    )
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("stock_movement", "idempotency_key", type_=sa.String(200))
    op.drop_column("product", "archived_sku")
    op.drop_column("product", "archived_at")
