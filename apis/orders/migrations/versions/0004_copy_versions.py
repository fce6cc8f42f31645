"""Each local copy keeps the version of the event it came from: a late event cannot overwrite a newer copy."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = depends_on = None


def upgrade() -> None:
    for table in ("customers", "products"):
        op.add_column(table, sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    for table in ("customers", "products"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
