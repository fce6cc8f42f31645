"""Category listings at scale: each link of a product to a category carries what the listing counts by (the
product's `is_active` and `in_stock`, the category's root, whether it is the product's first link under that
root), kept by service.catalog.relink in the transaction of every write that changes them, so that the count
of a category, with its children or not, is one range of an index of the links instead of a lookup of each
of its products.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = depends_on = None

ROOT = "(SELECT coalesce(c.parent_id, c.id) FROM category c WHERE c.id = {}.category_id)"
INDEXES = {
    "ix_product_category_leaf_listing": ["category_id", "is_active", "in_stock"],
    "ix_product_category_root_listing": ["root_id", "first_in_root", "is_active", "in_stock"],
}


def upgrade() -> None:
    for flag in ("is_active", "in_stock", "first_in_root"):
        op.add_column(
            "product_category", sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.add_column("product_category", sa.Column("root_id", sa.String(36)))
    op.execute(
        "UPDATE product_category SET"
        " is_active = (SELECT p.is_active FROM product p WHERE p.id = product_category.product_id),"
        " in_stock = (SELECT p.in_stock FROM product p WHERE p.id = product_category.product_id),"
        f" root_id = {ROOT.format('product_category')}"
    )
    op.execute(
        "UPDATE product_category SET first_in_root = NOT EXISTS (SELECT 1 FROM product_category o"
        " WHERE o.product_id = product_category.product_id AND o.root_id = product_category.root_id"
        " AND o.category_id < product_category.category_id)"
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "product_category", columns)
    op.execute("ANALYZE")  # the planners weigh the new indexes from the start


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "product_category")
    with op.batch_alter_table("product_category") as table:
        for column in ("first_in_root", "root_id", "in_stock", "is_active"):
            table.drop_column(column)
