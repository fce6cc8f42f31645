"""The catalog (categories, products, images, variants) and the stock ledger; the demo-catalog marker."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = depends_on = None

PRICE = sa.Numeric(12, 2)


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(36), primary_key=True)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "category",
        _id(),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("parent_id", sa.String(36), sa.ForeignKey("category.id", ondelete="RESTRICT")),
        sa.Column("image_url", sa.String(2000)),
        *_timestamps(),
        sa.UniqueConstraint("slug", name="uq_category_slug"),
    )
    op.create_index("ix_category_parent_id", "category", ["parent_id"])

    op.create_table(
        "product",
        _id(),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("description", sa.JSON()),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("average_rating", sa.Float(), nullable=False),
        sa.Column("review_count", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("sku", name="uq_product_sku"),
    )
    # the default listing, newest first: visitors (active products only) and staff (all)
    op.create_index("ix_product_active_created_at_id", "product", ["is_active", "created_at", "id"])
    op.create_index("ix_product_created_at_id", "product", ["created_at", "id"])

    op.create_table(
        "product_category",
        sa.Column(
            "product_id", sa.String(36), sa.ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "category_id", sa.String(36), sa.ForeignKey("category.id", ondelete="RESTRICT"), primary_key=True
        ),
    )
    op.create_index("ix_product_category_category_id", "product_category", ["category_id"])

    op.create_table(
        "product_image",
        _id(),
        sa.Column(
            "product_id", sa.String(36), sa.ForeignKey("product.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("image_url", sa.String(2000), nullable=False),
        sa.Column("alt_text", sa.String(500)),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_product_image_product_id", "product_image", ["product_id"])

    op.create_table(
        "variant",
        _id(),
        sa.Column(
            "product_id", sa.String(36), sa.ForeignKey("product.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("price", PRICE, nullable=False),
        sa.Column("cost_price", PRICE),
        sa.Column("stock_quantity", sa.BigInteger(), nullable=False),
        sa.Column("low_stock_threshold", sa.Integer()),
        *_timestamps(),
        sa.CheckConstraint("stock_quantity >= 0", name="ck_variant_stock_not_negative"),
    )
    op.create_index("ix_variant_product_id", "variant", ["product_id"])

    op.create_table(
        "stock_movement",
        _id(),
        sa.Column(
            "variant_id", sa.String(36), sa.ForeignKey("variant.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("change_quantity", sa.BigInteger(), nullable=False),
        sa.Column("quantity_after", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("related_order_id", sa.String(100)),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_stock_movement_idempotency_key"),
        sa.CheckConstraint("change_quantity <> 0", name="ck_stock_movement_change_not_zero"),
    )
    op.create_index("ix_stock_movement_variant_id", "stock_movement", ["variant_id"])
    op.create_index("ix_stock_movement_related_order_id", "stock_movement", ["related_order_id"])
    op.create_index("ix_stock_movement_timestamp", "stock_movement", ["timestamp"])

    op.create_table(
        "demo_catalog",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "demo_catalog",
        "stock_movement",
        "variant",
        "product_image",
        "product_category",
        "product",
        "category",
    ):
        op.drop_table(table)
