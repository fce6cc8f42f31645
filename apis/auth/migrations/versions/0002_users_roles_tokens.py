"""Users, roles, permissions, refresh tokens and the seed ledger.

Only creates tables: the seed data arrives at start-up (`apis/auth/seed.py`), completed but never wiped.
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = depends_on = None


ID = sa.String(36)


def _timestamps(*names: str) -> list[sa.Column[datetime]]:
    return [sa.Column(name, sa.DateTime(timezone=True), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "permissions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500)),
        *_timestamps("created_at", "updated_at"),
        sa.UniqueConstraint("name", name="uq_permissions_name"),
    )
    op.create_table(
        "roles",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500)),
        *_timestamps("created_at", "updated_at"),
        sa.UniqueConstraint("name", name="uq_roles_name"),
    )
    op.create_table(
        "role_permissions",
        sa.Column("role_id", ID, primary_key=True),
        sa.Column("permission_id", ID, primary_key=True),
        *_timestamps("assigned_at"),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name="fk_role_permissions_role", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["permission_id"], ["permissions.id"], name="fk_role_permissions_permission", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_role_permissions_permission_id", "role_permissions", ["permission_id"])
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("profile_image", sa.String(2048)),
        sa.Column("invitation_token_hash", sa.String(64)),
        sa.Column("invitation_expires", sa.DateTime(timezone=True)),
        sa.Column("role_id", ID, nullable=False),
        *_timestamps("created_at", "updated_at"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("invitation_token_hash", name="uq_users_invitation_token_hash"),
        sa.ForeignKeyConstraint(["role_id"], ["roles.id"], name="fk_users_role", ondelete="RESTRICT"),
    )
    op.create_index("ix_users_role_id", "users", ["role_id"])
    op.create_index("ix_users_created_at", "users", ["created_at"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", ID, primary_key=True),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("family_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        *_timestamps("created_at", "expires_at"),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_refresh_tokens_user", ondelete="CASCADE"),
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_table(
        "seed_steps",
        sa.Column("key", sa.String(200), primary_key=True),
        *_timestamps("applied_at"),
    )


def downgrade() -> None:
    for table in ("seed_steps", "refresh_tokens", "users", "role_permissions", "roles", "permissions"):
        op.drop_table(table)
