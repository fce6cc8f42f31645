"""The auth schema's upgrades keep the data they find."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from apis.auth.app import MIGRATIONS
from kit import db

ROLE = "INSERT INTO roles (id, name, created_at, updated_at) VALUES (:id, :name, :at, :at)"


async def test_0003_gives_every_role_its_folded_name_key_even_two_that_fold_to_one(tmp_path: Path) -> None:
    engine = db.open_engine(f"sqlite+aiosqlite:///{tmp_path}/auth.db")
    try:
        await db.migrate(engine, MIGRATIONS, "0002")
        async with engine.begin() as connection:
            for n, name in enumerate(("ÉQUIPE-R", "éQUIPE-R", "Support")):
                at = f"2026-01-0{n + 1}00:00:00"
                await connection.execute(sa.text(ROLE), {"id": f"r{n}", "name": name, "at": at})
        await db.migrate(engine, MIGRATIONS)
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT id, name_key FROM roles"))
            keys: dict[str, str] = {row.id: row.name_key for row in rows}
            duplicate = sa.text(
                "INSERT INTO roles (id, name, name_key, created_at, updated_at) "
                "VALUES ('r9', 'SUPPORT', 'support', '2026-02-01', '2026-02-01')"
            )
            try:
                await connection.execute(duplicate)
                refused = False
            except sa.exc.IntegrityError:
                refused = True
    finally:
        await engine.dispose()
    assert keys == {"r0": "équipe-r", "r1": "équipe-r#r1", "r2": "support"}
    assert refused
