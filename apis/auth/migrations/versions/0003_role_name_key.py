"""Role names are unique by a case-folded key (`roles.name_key`): SQLite's `lower()` folds ASCII only, so
`ÉQUIPE-R` and `éQUIPE-R` could both exist. Existing roles get their key; should two already fold to one, the
later one's key is suffixed with its id, so that the upgrade never fails (an operator may rename it).
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = depends_on = None


def _key(name: str) -> str:
    """apis.auth.models.name_key as of this revision (a migration never imports the moving models)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def upgrade() -> None:
    op.add_column("roles", sa.Column("name_key", sa.String(400)))
    roles = sa.table(
        "roles", sa.column("id"), sa.column("name"), sa.column("created_at"), sa.column("name_key")
    )
    connection = op.get_bind()
    seen: set[str] = set()
    oldest_first = sa.select(roles.c.id, roles.c.name).order_by(roles.c.created_at, roles.c.id)
    for role_id, name in connection.execute(oldest_first).all():
        key = _key(name) if _key(name) not in seen else f"{_key(name)}#{role_id}"
        seen.add(key)
        connection.execute(roles.update().where(roles.c.id == role_id).values(name_key=key))
    with op.batch_alter_table("roles") as batch:
        batch.alter_column("name_key", existing_type=sa.String(400), nullable=False)
        batch.create_unique_constraint("uq_roles_name_key", ["name_key"])


def downgrade() -> None:
    with op.batch_alter_table("roles") as batch:
        batch.drop_constraint("uq_roles_name_key", type_="unique")
        batch.drop_column("name_key")
