"""The customers' languages (issue 18): each copy keeps its user's (from USER_CREATED and USER_UPDATED), and
each order the Accept-Language it was placed with, so every mail is in the customer's language (a guest's in
their order's). Copies and orders before it have none: their mails stay in English.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("language", sa.String(8)))
    op.add_column("orders", sa.Column("language", sa.String(8)))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("language")
