"""Reviews (one per customer and product), the products' figures, the copies of reviewers and products."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = depends_on = None

Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(100), nullable=False, index=True),
        sa.Column("product_id", sa.String(100), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200)),
        sa.Column("comment", sa.String(5000), nullable=False),
        sa.Column("is_verified_purchase", sa.Boolean(), nullable=False),
        sa.Column("created_at", Moment, nullable=False, index=True),
        sa.Column("updated_at", Moment, nullable=False),
        sa.UniqueConstraint("user_id", "product_id", name="uq_reviews_user_product"),
    )
    op.create_index("ix_reviews_product_created", "reviews", ["product_id", "created_at"])
    op.create_table(
        "product_ratings",
        sa.Column("product_id", sa.String(100), primary_key=True),
        sa.Column("average_rating", sa.Float(), nullable=False),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "reviewers",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("profile_image", sa.String(1000)),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("sku", sa.String(200), nullable=False),
        sa.Column("image_url", sa.String(1000)),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
    )
    op.create_table(
        "handled_events",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("handled_at", Moment, nullable=False),
    )


def downgrade() -> None:
    for table in ("handled_events", "products", "reviewers", "product_ratings", "reviews"):
        op.drop_table(table)
