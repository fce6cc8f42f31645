"""Migrations: a database already at the scripts' heads starts without Alembic; one behind is upgraded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kit import db

MIGRATIONS = Path(__file__).parents[2] / "apis/orders/migrations"


def test_the_heads_are_read_from_the_scripts() -> None:
    assert db.script_heads(MIGRATIONS) == {"0010"}


async def test_a_database_at_its_heads_is_left_as_it_is_and_one_behind_is_upgraded(tmp_path: Path) -> None:
    engine = db.open_engine(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    try:
        await db.migrate(engine, MIGRATIONS, "0009")
        await db.migrate(engine, MIGRATIONS)  # behind: Alembic upgrades it
        async with engine.connect() as connection:
            assert await connection.run_sync(db._at_heads, MIGRATIONS)
    finally:
        await engine.dispose()


def test_a_service_start_imports_neither_alembic_nor_the_httpx_command_line() -> None:
    code = (
        "import sys, commerce.cli; from commerce.platform import app_factory; app_factory('orders');"
        "print(sorted(m for m in ('alembic', 'rich', 'httpx._main') if sys.modules.get(m)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
