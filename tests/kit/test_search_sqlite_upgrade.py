"""An embedded search index made before ratings takes them at its next start: `ensure` adds the column
(0 for the products already indexed) and its sort index, keeping every row.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kit.search import sqlite_schema

BEFORE_RATINGS = """CREATE TABLE g1_products (
    pid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, updated TEXT NOT NULL,
    min_price REAL, in_stock INTEGER NOT NULL, price_ranges INTEGER NOT NULL
)"""


def test_ensure_adds_the_rating_to_a_generation_made_before_it(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "search.db")
    try:
        connection.execute(BEFORE_RATINGS)
        connection.execute("INSERT INTO g1_products VALUES (1, 'p1', 0, '2026-01-01T00:00:00', 10.0, 1, 1)")
        sqlite_schema.ensure(connection)
        sqlite_schema.ensure(connection)  # and again: nothing more to do
        assert connection.execute("SELECT id, rating FROM g1_products").fetchall() == [("p1", 0.0)]
        indexes = {row[1] for row in connection.execute("PRAGMA index_list(g1_products)")}
        assert "g1_products_by_rating" in indexes
    finally:
        connection.close()
