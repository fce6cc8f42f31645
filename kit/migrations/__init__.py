"""Shared Alembic environment: each service's `migrations/env.py` calls `run()`.

Migrations always run on a connection handed over by `kit.db.migrate` (online mode), so the same
scripts serve SQLite and PostgreSQL, and services may migrate on start or from an init container.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData


def run(target_metadata: MetaData | None = None) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `commerce migrate <service>` (kit.db.migrate)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
