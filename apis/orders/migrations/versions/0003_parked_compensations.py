"""Compensations the saga could not complete, parked on the order for an operator."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("parked_compensations", sa.JSON()))


def downgrade() -> None:
    op.drop_column("orders", "parked_compensations")
