"""Promotions (issue 18): the storefront's banners, multilingual, ordered by `display_order`, shown while
active and not expired.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotion",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("subtitle", sa.JSON()),
        sa.Column("tagline", sa.JSON()),
        sa.Column("cta_text", sa.JSON(), nullable=False),
        sa.Column("cta_link", sa.String(2000), nullable=False),
        sa.Column("image_url", sa.String(2000), nullable=False),
        sa.Column("product_image_url", sa.String(2000)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("display_order", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_promotion_is_active_display_order", "promotion", ["is_active", "display_order"])


def downgrade() -> None:
    op.drop_table("promotion")
