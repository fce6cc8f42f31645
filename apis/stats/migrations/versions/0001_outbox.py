"""The statistics service's outbox (every database service has one; this one publishes nothing yet)."""

from alembic import op

from kit.outbox import create_outbox_table

revision = "0001"
down_revision = None
branch_labels = depends_on = None


def upgrade() -> None:
    create_outbox_table()


def downgrade() -> None:
    op.drop_table("outbox")
