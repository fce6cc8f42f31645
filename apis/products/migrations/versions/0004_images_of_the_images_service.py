"""Images of our images service: a product image names it (`image_name`, indexed, to count its uses), and
`image_lock` holds the row that attaching an image and counting its uses take turns on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = depends_on = None


def upgrade() -> None:
    op.add_column("product_image", sa.Column("image_name", sa.String(64)))
    op.create_index("ix_product_image_image_name", "product_image", ["image_name"])
    op.create_table("image_lock", sa.Column("name", sa.String(64), primary_key=True))


def downgrade() -> None:
    op.drop_table("image_lock")
    op.drop_index("ix_product_image_image_name", "product_image")
    op.drop_column("product_image", "image_name")
