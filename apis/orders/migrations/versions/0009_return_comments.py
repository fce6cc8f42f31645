"""Comments on returns (issue 18): from the customer or staff, text and/or an image; a retried comment is
found again by its Idempotency-Key. A return's status grows to 32 characters for AWAITING_CUSTOMER_RESPONSE
(SQLite does not enforce a VARCHAR's length, and its ALTER cannot change one).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("return_requests", "status", type_=sa.String(32), existing_nullable=False)
    op.create_table(
        "return_comments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "return_request_id",
            sa.String(36),
            sa.ForeignKey("return_requests.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author_id", sa.String(100)),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("comment_text", sa.String(2000)),
        sa.Column("image_url", sa.String(1000)),
        sa.Column("idempotency_key", sa.String(300), unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_return_comments_return_request_id", "return_comments", ["return_request_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("return_requests", "status", type_=sa.String(24), existing_nullable=False)
    op.drop_table("return_comments")
