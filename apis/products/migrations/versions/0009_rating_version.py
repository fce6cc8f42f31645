"""The version of the figures a product's `average_rating` and `review_count` came from (REVIEW_UPDATED from
the reviews service), so that a late or redelivered event changes nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = depends_on = None


def upgrade() -> None:
    op.add_column("product", sa.Column("rating_version", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("product") as table:
        table.drop_column("rating_version")
