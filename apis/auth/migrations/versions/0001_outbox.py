"""The auth service's outbox: events and workflow starts recorded with each change."""

from alembic import op

from kit.outbox import create_outbox_table

revision = "0001"
down_revision = None
branch_labels = depends_on = None


def upgrade() -> None:
    create_outbox_table()


def downgrade() -> None:
    op.drop_table("outbox")
