"""Orders, their items, local copies of users and products, and handled bus events."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = depends_on = None

Timestamp = sa.DateTime(timezone=True)
Money = sa.Numeric(12, 2)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(100)),
        sa.Column("guest_email", sa.String(320)),
        sa.Column("guest_name", sa.String(200)),
        sa.Column("guest_token_hash", sa.String(64), unique=True),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payment_method", sa.String(24), nullable=False),
        sa.Column("shipping_address", sa.JSON(), nullable=False),
        sa.Column("total_amount", Money, nullable=False),
        sa.Column("display_currency", sa.String(3), nullable=False),
        sa.Column("exchange_rate_at_purchase", sa.Numeric(12, 6), nullable=False),
        sa.Column("display_total_amount", Money, nullable=False),
        sa.Column("payment_transaction_id", sa.String(100)),
        sa.Column("failure_reason", sa.String(500)),
        sa.Column("failure_code", sa.String(64)),
        sa.Column("failure_details", sa.JSON()),
        sa.Column("cart_id", sa.String(36)),
        sa.Column("idempotency_key", sa.String(300), nullable=False, unique=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_table(
        "order_items",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("product_id", sa.String(100), nullable=False),
        sa.Column("variant_id", sa.String(100), nullable=False),
        sa.Column("product_name", sa.JSON(), nullable=False),
        sa.Column("variant_attributes", sa.JSON(), nullable=False),
        sa.Column("sku", sa.String(200), nullable=False),
        sa.Column("image_url", sa.String(1000)),
        sa.Column("price_at_time_of_order", Money, nullable=False),
        sa.Column("cost_price_at_time_of_order", Money),
        sa.Column("quantity", sa.Integer(), nullable=False),
    )
    for table, column in [
        ("orders", "user_id"),
        ("orders", "guest_email"),
        ("orders", "status"),
        ("orders", "created_at"),
        ("order_items", "order_id"),
        ("order_items", "product_id"),
        ("order_items", "variant_id"),
    ]:
        op.create_index(f"ix_{table}_{column}", table, [column])
    op.create_table(
        "customers",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("profile_image", sa.String(1000)),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("sku", sa.String(200), nullable=False),
        sa.Column("image_url", sa.String(1000)),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_table(
        "handled_events",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("handled_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    for table in ("handled_events", "products", "customers", "order_items", "orders"):
        op.drop_table(table)
