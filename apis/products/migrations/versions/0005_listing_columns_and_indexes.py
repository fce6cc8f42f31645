"""The listing at scale: a product carries its lowest variant price and whether some variant is in stock
(kept by every write of variants and stock), and the listing's filters and sorts are served by indexes of the
products not archived (the listing never shows those), so that pages are read in index order and counts from
the indexes alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = depends_on = None

LIVE = sa.text("archived_at IS NULL")
LISTING_INDEXES = {
    "ix_product_listing_created": ["is_active", "created_at", "id"],
    "ix_product_listing_price": ["is_active", "min_price", "id"],
    "ix_product_listing_stock_created": ["is_active", "in_stock", "created_at", "id"],
    "ix_product_listing_stock_price": ["is_active", "in_stock", "min_price", "id"],
    "ix_product_listing_staff_created": ["created_at", "id"],
}


def upgrade() -> None:
    op.add_column("product", sa.Column("min_price", sa.Numeric(12, 2)))
    op.add_column("product", sa.Column("in_stock", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE product SET"
        " min_price = (SELECT min(price) FROM variant WHERE variant.product_id = product.id),"
        " in_stock = EXISTS (SELECT 1 FROM variant WHERE variant.product_id = product.id"
        " AND variant.stock_quantity > 0)"
    )
    op.drop_index("ix_product_active_created_at_id", "product")
    op.drop_index("ix_product_created_at_id", "product")
    for name, columns in LISTING_INDEXES.items():
        op.create_index(name, "product", columns, sqlite_where=LIVE, postgresql_where=LIVE)
    # a category's products without reading the table; a product's variants' prices and stock likewise
    op.drop_index("ix_product_category_category_id", "product_category")
    op.create_index(
        "ix_product_category_category_id_product_id", "product_category", ["category_id", "product_id"]
    )
    op.drop_index("ix_variant_product_id", "variant")
    op.create_index("ix_variant_product_id_price_stock", "variant", ["product_id", "price", "stock_quantity"])
    op.execute("ANALYZE")  # the planners weigh the new indexes from the start


def downgrade() -> None:
    op.drop_index("ix_variant_product_id_price_stock", "variant")
    op.create_index("ix_variant_product_id", "variant", ["product_id"])
    op.drop_index("ix_product_category_category_id_product_id", "product_category")
    op.create_index("ix_product_category_category_id", "product_category", ["category_id"])
    for name in LISTING_INDEXES:
        op.drop_index(name, "product")
    op.create_index("ix_product_created_at_id", "product", ["created_at", "id"])
    op.create_index("ix_product_active_created_at_id", "product", ["is_active", "created_at", "id"])
    op.drop_column("product", "in_stock")
    op.drop_column("product", "min_price")
