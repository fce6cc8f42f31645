"""The reviews service's outbox: REVIEW_UPDATED is recorded in it with the change of a review."""

from alembic import op

from kit.outbox import create_outbox_table

revision = "0001"
down_revision = None
branch_labels = depends_on = None


def upgrade() -> None:
    create_outbox_table()


def downgrade() -> None:
    op.drop_table("outbox")
