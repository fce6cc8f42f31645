"""A category's count checks each of its products by id: an index of the listed products by id that holds the
filters' columns answers those checks without reading the product rows (issue 16; see 0005).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = depends_on = None

LIVE = sa.text("archived_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_product_listing_id",
        "product",
        ["id", "is_active", "in_stock", "min_price"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.execute("ANALYZE")


def downgrade() -> None:
    op.drop_index("ix_product_listing_id", "product")
