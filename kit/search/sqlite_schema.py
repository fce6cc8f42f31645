"""The tables of the embedded search index (`kit/search/sqlite.py`) and every write to them.

A generation's tables, `g<n>_` + name:
- `products`: one narrow row per product: its id, sort keys (creation time, lowest variant price, average
  rating), whether
  it is in stock and a bit per price range a variant lies in, with an index per sort order; `documents`
  holds its names (for suggestions) and the stored document;
- `variants` (prices, indexed by price too), `categories` (slugs), `attributes` (the key-value pairs of
  its variants): rows by product, what the bitmaps of filters and facets are made of;
- `text`, the FTS5 table: a row per product and language, holding the name, category names and
  description in that language, with the SKU and the attribute values, folded (`kit.search.text`) so the
  tokenizer only splits on spaces. Its rowid is `language << 40 | pid`, the languages being numbered by
  `languages` (English is 0): a language's rows are one rowid range, and all share one bm25 statistics;
- `words`: each word of 3+ letters of the texts, under itself and each of its one-deletion variants
  (added to, never pruned until a rebuild): where a typo finds the words one edit away;
- `changes`: the products each write touched, by the write's version (`search_meta`), for the last
  `KEPT_VERSIONS`: what brings a reader's bitmaps (`kit/search/sqlite_bitmaps.py`) up to date.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from kit.search import PRICE_RANGES, SearchDocument
from kit.search.text import deletions, words

ENGLISH = "en"
CHUNK = 500  # ids per `IN (...)`
# The sort keys by price, the expressions of their indexes (a query must spell them alike to use them):
# a product without variants comes last either way.
PRICE_UP = "coalesce(min_price, 1e308)"
PRICE_DOWN = "coalesce(min_price, -1e308)"
KEPT_VERSIONS = 10_000

TABLES = (
    """CREATE TABLE IF NOT EXISTS {g}products (
        pid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        updated TEXT NOT NULL,
        min_price REAL,
        in_stock INTEGER NOT NULL,
        price_ranges INTEGER NOT NULL,
        rating REAL NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS {g}documents (
        pid INTEGER PRIMARY KEY, names TEXT NOT NULL, document TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS {g}products_by_created ON {g}products (created, id)",
    f"CREATE INDEX IF NOT EXISTS {{g}}products_by_price ON {{g}}products ({PRICE_UP}, id)",
    f"CREATE INDEX IF NOT EXISTS {{g}}products_by_price_desc ON {{g}}products ({PRICE_DOWN}, id)",
    """CREATE TABLE IF NOT EXISTS {g}variants (
        pid INTEGER NOT NULL, price REAL NOT NULL, PRIMARY KEY (pid, price)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS {g}variants_by_price ON {g}variants (price, pid)",
    """CREATE TABLE IF NOT EXISTS {g}categories (
        pid INTEGER NOT NULL, slug TEXT NOT NULL, PRIMARY KEY (pid, slug)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS {g}attributes (
        pid INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (pid, key, value)
    ) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS {g}languages (code TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE)",
    """CREATE TABLE IF NOT EXISTS {g}words (
        variant TEXT NOT NULL, word TEXT NOT NULL, PRIMARY KEY (variant, word)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS {g}changes (
        version INTEGER NOT NULL, pid INTEGER NOT NULL, PRIMARY KEY (version, pid)
    ) WITHOUT ROWID""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS {g}text USING fts5(
        name, categories, sku, description, attributes, tokenize = 'unicode61 remove_diacritics 0'
    )""",
)
LANGUAGE_SHIFT = 40  # text rowid = language << 40 | pid
PIDS = (1 << LANGUAGE_SHIFT) - 1


def prefix(generation: int) -> str:
    return f"g{generation}_"


class NotEnsured(RuntimeError):
    """The file holds no index yet: `ensure()` creates it."""


def current(connection: sqlite3.Connection) -> int:
    try:
        row = connection.execute("SELECT value FROM search_meta WHERE key = 'generation'").fetchone()
    except sqlite3.OperationalError as error:
        raise NotEnsured("the search index was not created (ensure)") from error
    if row is None:
        raise NotEnsured("the search index was not created (ensure)")
    return int(row[0])


def ensure(connection: sqlite3.Connection) -> None:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
    )
    connection.execute(
        "INSERT OR IGNORE INTO search_meta VALUES ('generation', 1), ('version', 0), ('pruned', 0)"
    )
    create(connection, current(connection))


def create(connection: sqlite3.Connection, generation: int) -> None:
    g = prefix(generation)
    for statement in TABLES:
        connection.execute(statement.format(g=g))
    columns = {row[1] for row in connection.execute(f"PRAGMA table_info({g}products)")}
    if "rating" not in columns:  # a generation made before ratings: 0 until its products are indexed again
        connection.execute(f"ALTER TABLE {g}products ADD COLUMN rating REAL NOT NULL DEFAULT 0")
    connection.execute(f"CREATE INDEX IF NOT EXISTS {g}products_by_rating ON {g}products (rating, id)")
    connection.execute(f"INSERT OR IGNORE INTO {g}languages VALUES (?, 0)", (ENGLISH,))


def make_current(connection: sqlite3.Connection, generation: int) -> None:
    """Point readers at `generation`, which starts with an empty change log (readers load it whole)."""
    connection.execute("UPDATE search_meta SET value = ? WHERE key = 'generation'", (generation,))
    connection.execute(f"DELETE FROM {prefix(generation)}changes")


def versions(connection: sqlite3.Connection) -> tuple[int, int]:
    """The version of the last write, and the last version whose changes were pruned from the log."""
    values = dict(connection.execute("SELECT key, value FROM search_meta WHERE key IN ('version', 'pruned')"))
    return int(values["version"]), int(values["pruned"])


def next_version(connection: sqlite3.Connection) -> int:
    """The version of this write transaction."""
    bump = "UPDATE search_meta SET value = value + 1 WHERE key = 'version' RETURNING value"
    return int(connection.execute(bump).fetchone()[0])


def generations(connection: sqlite3.Connection) -> set[int]:
    """Every generation with tables in the file."""
    names = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'g[0-9]*_*'"
    )
    return {int(name[1 : name.index("_")]) for (name,) in names}


def drop(connection: sqlite3.Connection, generation: int) -> None:
    """Drop a generation's tables: the FTS5 ones first (they drop their own shadow tables)."""
    pattern = f"{prefix(generation)}*"
    listed = "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB ? AND sql LIKE ?"
    for kind in ("CREATE VIRTUAL %", "%"):
        for (name,) in connection.execute(listed, (pattern, kind)).fetchall():
            connection.execute(f'DROP TABLE IF EXISTS "{name}"')


@dataclass(frozen=True)
class Rows:
    """A document as the tables hold it."""

    id: str
    product: tuple[object, ...]  # the products columns after pid and id
    names: str
    document: str
    prices: frozenset[float]
    slugs: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    texts: dict[str, tuple[str, str, str, str, str]]  # language -> the FTS5 columns
    vocabulary: frozenset[str]


def rows_of(documents: Iterable[SearchDocument]) -> list[Rows]:
    """The rows of each product (the last document of an id wins)."""
    return list({document.id: _rows(document) for document in documents}.values())


def _rows(document: SearchDocument) -> Rows:
    prices = [variant.price for variant in document.variants]
    sku = _folded(document.sku)
    attributes = _folded(" ".join(value for v in document.variants for value in v.attributes.values()))
    languages = {ENGLISH, *document.name, *document.description}
    languages.update(language for names in document.category_names for language in names)
    texts = {
        language: (
            _folded(document.name.get(language, "")),
            _folded(" ".join(names.get(language, "") for names in document.category_names)),
            sku,
            _folded(document.description.get(language, "")),
            attributes,
        )
        for language in languages
    }
    product = (
        _micros(document.created_at),
        document.updated_at.isoformat(),
        float(min(prices)) if prices else None,
        int(any(variant.stock_quantity > 0 for variant in document.variants)),
        _price_ranges(prices),
        float(document.average_rating),
    )
    return Rows(
        id=document.id,
        product=product,
        names=json.dumps(dict(document.name), ensure_ascii=False),
        document=json.dumps(dict(document.document), ensure_ascii=False, separators=(",", ":")),
        prices=frozenset(float(price) for price in prices),
        slugs=frozenset(document.category_slugs),
        pairs=frozenset((k, v) for variant in document.variants for k, v in variant.attributes.items()),
        texts=texts,
        vocabulary=frozenset(
            word
            for fields in texts.values()
            for text in fields
            for word in text.split()
            if len(word) >= 3 and word.isalpha()
        ),
    )


def _folded(text: str) -> str:
    return " ".join(words(text))


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _price_ranges(prices: Sequence[Decimal]) -> int:
    """Bit i set when a price lies in `PRICE_RANGES[i]`."""
    return sum(
        1 << i
        for i, (low, high) in enumerate(PRICE_RANGES)
        if any((low is None or price >= low) and (high is None or price < high) for price in prices)
    )


def put(connection: sqlite3.Connection, generation: int, rows: Sequence[Rows], version: int) -> None:
    """Index `rows` into `generation`, replacing what it held of those products."""
    if not rows:
        return
    g = prefix(generation)
    languages = _languages(connection, generation, {language for r in rows for language in r.texts})
    _clear(connection, generation, list(_pids(connection, generation, [r.id for r in rows]).values()))
    columns = ("created", "updated", "min_price", "in_stock", "price_ranges", "rating")
    upsert = (
        f"INSERT INTO {g}products (id, {', '.join(columns)}) VALUES (?, {', '.join('?' * len(columns))}) "
        f"ON CONFLICT (id) DO UPDATE SET ({', '.join(columns)}) = "
        f"({', '.join(f'excluded.{column}' for column in columns)}) RETURNING pid"
    )
    pids = [connection.execute(upsert, (r.id, *r.product)).fetchone()[0] for r in rows]
    written = list(zip(pids, rows, strict=True))
    _log(connection, generation, version, pids)
    connection.executemany(
        f"INSERT INTO {g}documents VALUES (?, ?, ?)", [(pid, r.names, r.document) for pid, r in written]
    )
    connection.executemany(
        f"INSERT INTO {g}variants VALUES (?, ?)", [(pid, price) for pid, r in written for price in r.prices]
    )
    connection.executemany(
        f"INSERT INTO {g}categories VALUES (?, ?)", [(pid, slug) for pid, r in written for slug in r.slugs]
    )
    connection.executemany(
        f"INSERT INTO {g}attributes VALUES (?, ?, ?)",
        [(pid, *pair) for pid, r in written for pair in r.pairs],
    )
    connection.executemany(
        f"INSERT INTO {g}text (rowid, name, categories, sku, description, attributes) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (languages[language] << LANGUAGE_SHIFT | pid, *texts)
            for pid, r in written
            for language, texts in r.texts.items()
        ],
    )
    vocabulary = frozenset().union(*(r.vocabulary for r in rows))
    connection.executemany(
        f"INSERT OR IGNORE INTO {g}words VALUES (?, ?)",
        [(variant, word) for word in vocabulary for variant in deletions(word)],
    )


def remove(connection: sqlite3.Connection, generation: int, product_ids: Sequence[str], version: int) -> None:
    pids = list(_pids(connection, generation, product_ids).values())
    _clear(connection, generation, pids)
    connection.executemany(
        f"DELETE FROM {prefix(generation)}products WHERE pid = ?", [(pid,) for pid in pids]
    )
    _log(connection, generation, version, pids)


def _log(connection: sqlite3.Connection, generation: int, version: int, pids: Iterable[int]) -> None:
    """Record that this version changed `pids`, and forget the versions past `KEPT_VERSIONS`."""
    g, forgotten = prefix(generation), version - KEPT_VERSIONS
    connection.executemany(
        f"INSERT OR IGNORE INTO {g}changes VALUES (?, ?)", [(version, pid) for pid in pids]
    )
    if forgotten > 0:
        connection.execute(f"DELETE FROM {g}changes WHERE version <= ?", (forgotten,))
        connection.execute("UPDATE search_meta SET value = max(value, ?) WHERE key = 'pruned'", (forgotten,))


def languages(connection: sqlite3.Connection, generation: int) -> dict[str, int]:
    """Language code -> its number in the text table's rowids."""
    return dict(connection.execute(f"SELECT code, number FROM {prefix(generation)}languages"))


def _languages(connection: sqlite3.Connection, generation: int, needed: set[str]) -> dict[str, int]:
    """The generation's languages, numbering those of `needed` it did not have."""
    known = languages(connection, generation)
    for code in sorted(needed - known.keys()):
        number = max(known.values()) + 1
        connection.execute(f"INSERT INTO {prefix(generation)}languages VALUES (?, ?)", (code, number))
        known[code] = number
    return known


def _pids(connection: sqlite3.Connection, generation: int, product_ids: Sequence[str]) -> dict[str, int]:
    """The row numbers of those of `product_ids` that the generation holds."""
    found: dict[str, int] = {}
    for start in range(0, len(product_ids), CHUNK):
        chunk = list(product_ids[start : start + CHUNK])
        marks = ", ".join("?" * len(chunk))
        found.update(
            connection.execute(
                f"SELECT id, pid FROM {prefix(generation)}products WHERE id IN ({marks})", chunk
            )
        )
    return found


def _clear(connection: sqlite3.Connection, generation: int, pids: list[int]) -> None:
    """Delete the products' rows in every table but `products`."""
    if not pids:
        return
    g, keys = prefix(generation), [(pid,) for pid in pids]
    for table in ("documents", "variants", "categories", "attributes"):
        connection.executemany(f"DELETE FROM {g}{table} WHERE pid = ?", keys)
    numbers = languages(connection, generation).values()
    connection.executemany(
        f"DELETE FROM {g}text WHERE rowid = ?",
        [(n << LANGUAGE_SHIFT | pid,) for pid in pids for n in numbers],
    )
