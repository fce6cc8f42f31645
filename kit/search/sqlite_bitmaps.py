"""Bitmaps of the embedded search index: sets of products as Python ints, bit `pid` set for each product.

- For each facet value (a category slug, an attribute pair, a price range), "indexed" and "in stock": the
  products having it. A filter is an AND or OR of them, and a facet counts over any filtered set as
  `(bits & selected).bit_count()`: microseconds at 100k products whatever the size of the set, where
  joining the set to its category and attribute rows costs a microsecond per row.
- Ladders, for the numbers sorted or bounded by: each sort key (creation time, lowest price, rating) and the
  variants' prices cut at their quantiles into rungs of about equal size, a rung holding the products
  with a value in its range. Counting a filtered set rung by rung tells which key range holds a page, so
  SQL sorts only that slice of the index; a price filter is the OR of the rungs it covers, with only the
  rows of the rungs at its two edges read from the variants' index.

They are a cache of the plain tables, shared by a process's readers: loaded once per generation, then
brought forward in each read snapshot from the generation's `changes`, the products each write touched
by version (a log of `KEPT_VERSIONS`; a cache older than that, or having taken in many changes, reloads).
"""

from __future__ import annotations

import bisect
import math
import operator
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import reduce
from typing import Any

from kit.search import PRICE_RANGES
from kit.search.sqlite_schema import CHUNK, PRICE_DOWN, PRICE_UP, prefix, versions

Key = tuple[str, str, str]  # ("category", "", slug), ("attribute", key, value), ("price", "", bit), ...
INDEXED: Key = ("indexed", "", "")
IN_STOCK: Key = ("stock", "", "")
UNPRICED = 1e308  # the price sort key of a product without variants (PRICE_UP, PRICE_DOWN)
# columns of `products`
SORT_KEYS = {"created": "created", "price": PRICE_UP, "price_desc": PRICE_DOWN, "rating": "rating"}
SORT_RUNGS = 64
PRICE_RUNGS = 128
RELOAD = 20_000  # changed products past which reloading beats patching


def price_range(bit: int) -> Key:
    return ("price", "", str(bit))


def bits_of(pids: Iterable[int]) -> int:
    """The bitmap of `pids`."""
    listed = list(pids)
    if not listed:
        return 0
    array = bytearray(max(listed) // 8 + 1)
    for pid in listed:
        array[pid >> 3] |= 1 << (pid & 7)
    return int.from_bytes(array, "little")


def any_of(bitmaps: Iterable[int]) -> int:
    return reduce(operator.or_, bitmaps, 0)


@dataclass(frozen=True)
class Ladder:
    """Rung i holds the products with a value from `bounds[i]` (the first is -inf) up to `bounds[i + 1]`."""

    bounds: tuple[float, ...]
    rungs: tuple[int, ...]

    @classmethod
    def cut(cls, values: list[tuple[int, float]], rungs: int) -> Ladder:
        """A ladder of `rungs` about equal rungs for these (pid, value)."""
        ordered = sorted(value for _, value in values)
        cuts = {ordered[n * len(ordered) // rungs] for n in range(1, rungs)} if ordered else set()
        bounds = (-math.inf, *sorted(cuts))
        return cls(bounds, (0,) * len(bounds)).placed(values)

    def placed(self, values: list[tuple[int, float]]) -> Ladder:
        """This ladder with these (pid, value) added."""
        added: dict[int, list[int]] = {}
        for pid, value in values:
            added.setdefault(bisect.bisect_right(self.bounds, value) - 1, []).append(pid)
        rungs = list(self.rungs)
        for rung, pids in added.items():
            rungs[rung] |= bits_of(pids)
        return Ladder(self.bounds, tuple(rungs))

    def without(self, pids: int) -> Ladder:
        kept = ~pids
        return Ladder(self.bounds, tuple(rung & kept for rung in self.rungs))

    def lower(self, rung: int) -> float | None:
        return None if rung == 0 else self.bounds[rung]

    def upper(self, rung: int) -> float | None:
        return self.bounds[rung + 1] if rung + 1 < len(self.bounds) else None

    def top(self, rung: int) -> float:
        """Where the rung's values end (exclusive)."""
        return self.bounds[rung + 1] if rung + 1 < len(self.bounds) else math.inf

    def slice(
        self, selected: int, offset: int, limit: int, *, descending: bool
    ) -> tuple[float | None, float | None, int] | None:
        """The value range holding the selected products `offset` to `offset + limit` in this order (lower
        bound inclusive, upper exclusive, None when open), and how many of them in it come first.
        """
        seen, skip, first, last = 0, 0, -1, -1
        for rung in reversed(range(len(self.rungs))) if descending else range(len(self.rungs)):
            count = (self.rungs[rung] & selected).bit_count()
            if not count:
                continue
            if first < 0:
                if seen + count <= offset:
                    seen += count
                    continue
                first, skip = rung, offset - seen
            seen, last = seen + count, rung
            if seen >= offset + limit:
                break
        if first < 0:
            return None
        low, high = min(first, last), max(first, last)
        return self.lower(low), self.upper(high), skip


@dataclass(frozen=True)
class Bitmaps:
    generation: int
    version: int
    maps: Mapping[Key, int]
    sorts: Mapping[str, Ladder]  # by SORT_KEYS
    prices: Ladder  # the products by their variants' prices
    changed: int = 0  # products taken in since the load

    def __getitem__(self, key: Key) -> int:
        return self.maps.get(key, 0)


class BitmapCache:
    """The latest bitmaps a reader made. A newer or equal version serves any snapshot of its generation:
    a query racing a write may count the write (total, facets) a moment before its page shows it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: Bitmaps | None = None

    def get(self, connection: sqlite3.Connection, generation: int) -> Bitmaps:
        version, pruned = versions(connection)
        with self._lock:
            latest = self._latest
            if latest is not None and latest.generation == generation and latest.version >= version:
                return latest
            if latest is not None and latest.generation > generation:
                return _load(connection, generation, version)  # a snapshot from before a swap: not kept
            if latest is None or latest.generation != generation or latest.version < pruned:
                self._latest = _load(connection, generation, version)
            else:
                self._latest = _advance(latest, connection, version)
            return self._latest


@dataclass
class _Collected:
    """What the tables hold of some products, for their bitmaps."""

    maps: dict[Key, int]
    sorts: dict[str, list[tuple[int, float]]]
    prices: list[tuple[int, float]]
    size: int  # bytes of a bitmap of them


def _load(connection: sqlite3.Connection, generation: int, version: int) -> Bitmaps:
    found = _collect(connection, generation, None)
    return Bitmaps(
        generation,
        version,
        found.maps,
        {key: Ladder.cut(values, SORT_RUNGS) for key, values in found.sorts.items()},
        Ladder.cut(found.prices, PRICE_RUNGS),
    )


def _advance(bitmaps: Bitmaps, connection: sqlite3.Connection, version: int) -> Bitmaps:
    """`bitmaps` with the products changed since their version read again (or reloaded, after many)."""
    g = prefix(bitmaps.generation)
    since = connection.execute(f"SELECT DISTINCT pid FROM {g}changes WHERE version > ?", (bitmaps.version,))
    changed = [pid for (pid,) in since]
    total = bitmaps.changed + len(changed)
    if total > max(RELOAD, bitmaps[INDEXED].bit_count() // 10):  # new values would crowd the end rungs
        return _load(connection, bitmaps.generation, version)
    gone = bits_of(changed)
    found = _collect(connection, bitmaps.generation, changed)
    maps = {key: bits & ~gone for key, bits in bitmaps.maps.items()}
    for key, bits in found.maps.items():
        maps[key] = maps.get(key, 0) | bits
    sorts = {key: ladder.without(gone).placed(found.sorts[key]) for key, ladder in bitmaps.sorts.items()}
    prices = bitmaps.prices.without(gone).placed(found.prices)
    kept = {key: bits for key, bits in maps.items() if bits}
    return Bitmaps(bitmaps.generation, version, kept, sorts, prices, total)


def _collect(connection: sqlite3.Connection, generation: int, pids: list[int] | None) -> _Collected:
    """The bitmaps and ladder values of the products `pids` (of every product when None)."""
    g = prefix(generation)
    top = connection.execute(f"SELECT max(pid) FROM {g}products").fetchone()[0] or 0
    found = _Collected({}, {key: [] for key in SORT_KEYS}, [], top // 8 + 1)
    arrays: dict[Key, bytearray] = {}
    ranges = [(1 << bit, price_range(bit)) for bit in range(len(PRICE_RANGES))]

    def mark(key: Key, pid: int) -> None:
        array = arrays.get(key)
        if array is None:
            array = arrays[key] = bytearray(found.size)
        array[pid >> 3] |= 1 << (pid & 7)

    products = f"SELECT pid, in_stock, price_ranges, created, min_price, rating FROM {g}products"
    for pid, in_stock, in_ranges, created, price, rating in _rows(connection, products, pids):
        mark(INDEXED, pid)
        if in_stock:
            mark(IN_STOCK, pid)
        for flag, key in ranges:
            if in_ranges & flag:
                mark(key, pid)
        found.sorts["created"].append((pid, created))
        found.sorts["price"].append((pid, UNPRICED if price is None else price))
        found.sorts["price_desc"].append((pid, -UNPRICED if price is None else price))
        found.sorts["rating"].append((pid, rating))
    for pid, slug in _rows(connection, f"SELECT pid, slug FROM {g}categories", pids):
        mark(("category", "", slug), pid)
    for pid, name, value in _rows(connection, f"SELECT pid, key, value FROM {g}attributes", pids):
        mark(("attribute", name, value), pid)
    found.prices.extend(_rows(connection, f"SELECT pid, price FROM {g}variants", pids))
    found.maps = {key: int.from_bytes(array, "little") for key, array in arrays.items()}
    return found


def _rows(connection: sqlite3.Connection, select: str, pids: list[int] | None) -> Iterator[Any]:
    if pids is None:
        yield from connection.execute(select)
        return
    for start in range(0, len(pids), CHUNK):
        chunk = pids[start : start + CHUNK]
        yield from connection.execute(f"{select} WHERE pid IN ({', '.join('?' * len(chunk))})", chunk)
