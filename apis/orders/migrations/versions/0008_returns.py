"""Return requests of delivered orders and their lines (issue 18): what the return workflow restocks and
refunds, and when it settled them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("admin_comments", sa.String(2000)),
        sa.Column("image_urls", sa.JSON()),
        sa.Column("idempotency_key", sa.String(300), unique=True),
        sa.Column("restocked_units", sa.Integer()),
        sa.Column("refunded_amount", sa.Numeric(12, 2)),
        sa.Column("refund_id", sa.String(100)),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("order_id", "status", "created_at"):
        op.create_index(f"ix_return_requests_{column}", "return_requests", [column])
    op.create_table(
        "return_items",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "return_request_id",
            sa.String(36),
            sa.ForeignKey("return_requests.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "order_item_id",
            sa.String(36),
            sa.ForeignKey("order_items.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.UniqueConstraint("return_request_id", "order_item_id"),
    )
    op.create_index("ix_return_items_return_request_id", "return_items", ["return_request_id"])
    op.create_index("ix_return_items_order_item_id", "return_items", ["order_item_id"])


def downgrade() -> None:
    op.drop_table("return_items")
    op.drop_table("return_requests")
