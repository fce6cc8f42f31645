"""Each order line keeps its unit price in the order's display currency, converted at placement at the rate
the order records (issue 18); the orders before it are in the base currency, their display price their price.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = depends_on = None


def upgrade() -> None:
    op.add_column("order_items", sa.Column("display_price_at_time_of_order", sa.Numeric(12, 2)))
    op.execute("UPDATE order_items SET display_price_at_time_of_order = price_at_time_of_order")


def downgrade() -> None:
    op.drop_column("order_items", "display_price_at_time_of_order")
