"""The queries of the embedded search index (`kit/search/sqlite.py`): search, suggest and stamps.

Each runs in one read snapshot, on the tables of `kit/search/sqlite_schema.py`. A search with text first
collects the products whose texts in its language or in English match (those the filters keep), with
their best bm25 score, into a dict: rows read straight off FTS5, no table written. The filtered set is a
bitmap (`kit/search/sqlite_bitmaps.py`): the filters' bitmaps, or the hits; its counts are the total and the
facets. The page is the best hits, or the slice of the sort's index that the sort's ladder says holds
it, keeping the selected products (`selected(pid)`, a function of the bitmap for SQL).
"""

from __future__ import annotations

import heapq
import json
import math
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime

from kit.search import (
    PRICE_RANGES,
    FacetCount,
    PriceRangeCount,
    SearchPage,
    SearchQuery,
    price_range_key,
)
from kit.search.sqlite_bitmaps import (
    IN_STOCK,
    INDEXED,
    SORT_KEYS,
    BitmapCache,
    Bitmaps,
    Ladder,
    any_of,
    bits_of,
)
from kit.search.sqlite_schema import CHUNK, ENGLISH, LANGUAGE_SHIFT, PIDS, languages, prefix
from kit.search.text import deletions, fuzzy, one_edit_apart, words

# bm25 weights of the columns name, category names, SKU, description, attribute values (the seed's boosts):
BOOSTS = (5.0, 4.0, 3.0, 2.0, 1.0)  # in the query's language
ENGLISH_BOOSTS = (2.5, 2.0, 3.0, 1.0, 1.0)  # in English, when the query is in another language
LANGUAGE_CODE = re.compile(r"[A-Za-z0-9_-]+")  # what may go into a JSON path


def search(
    query: SearchQuery, cache: BitmapCache, connection: sqlite3.Connection, generation: int
) -> SearchPage:
    g = prefix(generation)
    bitmaps = cache.get(connection, generation)
    selected = _narrowed(connection, g, bitmaps, query)
    connection.create_function("selected", 1, _membership(selected), deterministic=True)
    expression = _expression(connection, g, query.text)
    scored = expression is not None and query.sort_by == "_score"
    hits: dict[int, float] = {}
    if expression is not None:
        weighted = _weighted(languages(connection, generation), query.language)
        filtered = selected != bitmaps[INDEXED]  # then only the hits the filters keep are scored
        hits = _hits(connection, g, weighted, expression, scored=scored, filtered=filtered)
        selected = bits_of(hits)
        connection.create_function("selected", 1, _membership(selected), deterministic=True)
    limit = max(query.limit, 0)
    offset = (max(query.page, 1) - 1) * limit
    if scored:
        pids = _best(connection, g, hits, descending=query.sort_order == "desc", offset=offset, limit=limit)
    else:
        pids = _in_order(connection, g, bitmaps, query, selected, offset, limit)
    return _page(_documents(connection, g, pids), bitmaps, selected)


def _best(
    connection: sqlite3.Connection,
    g: str,
    hits: dict[int, float],
    *,
    descending: bool,
    offset: int,
    limit: int,
) -> list[int]:
    """The page of `hits` by score, then the newest. The page's last score is found on the scores alone;
    the hits scoring better are few (fewer than the page's end) and sorted here, and those tied with it,
    often thousands, are read newest first off the creation index, only as many as the page needs.
    """
    wanted = offset + limit
    if not limit or not hits:
        return []
    pick = heapq.nsmallest if descending else heapq.nlargest  # bm25: lower is better
    last = pick(wanted, hits.values())[-1]
    better = [pid for pid, score in hits.items() if (score < last if descending else score > last)]
    rows: list[tuple[int, int, str]] = []
    for start in range(0, len(better), CHUNK):  # a deep page's are many
        chunk = better[start : start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows += connection.execute(f"SELECT pid, created, id FROM {g}products WHERE pid IN ({marks})", chunk)
    rows.sort(key=lambda row: (row[1], row[2]), reverse=True)  # the newest first, then by id
    rows.sort(key=lambda row: hits[row[0]], reverse=not descending)  # stable: ties stay newest first
    connection.create_function(
        "tied",
        1,
        _membership(bits_of(pid for pid, score in hits.items() if score == last)),
        deterministic=True,
    )
    tied = connection.execute(
        f"SELECT pid FROM {g}products WHERE tied(pid) ORDER BY created DESC, id DESC LIMIT ?",
        (wanted - len(rows),),
    )
    return [*(pid for pid, _, _ in rows), *(pid for (pid,) in tied)][offset:wanted]


def _narrowed(connection: sqlite3.Connection, g: str, bitmaps: Bitmaps, query: SearchQuery) -> int:
    """The products the query's filters leave."""
    selected = bitmaps[INDEXED]
    if query.category is not None:
        selected &= bitmaps["category", "", query.category]
    if query.in_stock:
        selected &= bitmaps[IN_STOCK]
    for key, values in query.attributes.items():
        if values:
            selected &= any_of(bitmaps["attribute", key, value] for value in values)
    if query.min_price is not None or query.max_price is not None:
        low = -math.inf if query.min_price is None else float(query.min_price)
        high = math.inf if query.max_price is None else float(query.max_price)
        selected &= _priced(connection, g, bitmaps.prices, low, high)
    return selected


def _priced(connection: sqlite3.Connection, g: str, ladder: Ladder, low: float, high: float) -> int:
    """The products with a variant priced from `low` to `high`: the rungs within, and the variants of the
    range's ends outside them read from the index.
    """
    inside = [
        rung for rung in range(len(ladder.rungs)) if low <= ladder.bounds[rung] and ladder.top(rung) <= high
    ]
    ends = [(low, high, "<=")]  # [low, high]
    if inside:  # [low, the first rung inside) and [the end of the last, high]
        ends = [(low, ladder.bounds[inside[0]], "<"), (ladder.top(inside[-1]), high, "<=")]
    found = any_of(ladder.rungs[rung] for rung in inside)
    for start, stop, below in ends:
        if start < stop or (start == stop < math.inf and below == "<="):
            rows = connection.execute(
                f"SELECT pid FROM {g}variants WHERE price >= ? AND price {below} ?", (start, stop)
            )
            found |= bits_of(pid for (pid,) in rows)
    return found


def _in_order(
    connection: sqlite3.Connection,
    g: str,
    bitmaps: Bitmaps,
    query: SearchQuery,
    selected: int,
    offset: int,
    limit: int,
) -> list[int]:
    """The page of `selected` by creation time, price or rating: the slice of its sort's index holding it."""
    descending = query.sort_order == "desc" or query.sort_by == "_score"  # no text: the newest first
    key = {"price": "price_desc" if descending else "price", "averageRating": "rating"}.get(
        query.sort_by, "created"
    )
    ladder = bitmaps.sorts[key]
    found = ladder.slice(selected, offset, limit, descending=descending) if limit else None
    if found is None:
        return []
    lower, upper, skip = found
    expression = SORT_KEYS[key]
    bounds = [f"{expression} >= ?"] * (lower is not None) + [f"{expression} < ?"] * (upper is not None)
    direction = "DESC" if descending else "ASC"
    page = connection.execute(
        f"SELECT pid FROM {g}products WHERE {' AND '.join([*bounds, 'selected(pid)'])} "
        f"ORDER BY {expression} {direction}, id {direction} LIMIT ? OFFSET ?",
        [bound for bound in (lower, upper) if bound is not None] + [limit, skip],
    )
    return [pid for (pid,) in page]


def _membership(selected: int) -> Callable[[int], int]:
    """`selected(pid)` for SQL: whether the bitmap holds `pid`."""
    data = selected.to_bytes((selected.bit_length() + 7) // 8, "little")

    def holds(pid: int) -> int:
        return pid >> 3 < len(data) and data[pid >> 3] >> (pid & 7) & 1

    return holds


def _documents(connection: sqlite3.Connection, g: str, pids: list[int]) -> list[dict[str, object]]:
    """The stored documents of `pids`, in that order (fetched after sorting: sorting carries no documents)."""
    if not pids:
        return []
    marks = ", ".join("?" * len(pids))
    found = dict(connection.execute(f"SELECT pid, document FROM {g}documents WHERE pid IN ({marks})", pids))
    return [json.loads(found[pid]) for pid in pids]


def _rows_of(number: int) -> tuple[int, int]:
    """The rowid range of a language's rows in the text table."""
    return number << LANGUAGE_SHIFT, number << LANGUAGE_SHIFT | PIDS


def _weighted(known: dict[str, int], language: str) -> list[tuple[int, tuple[float, ...]]]:
    """The languages a query in `language` searches (by number), with their weights: its own, and English."""
    if language == ENGLISH:
        return [(known[ENGLISH], BOOSTS)]
    own = [(known[language], BOOSTS)] if language in known else []
    return [*own, (known[ENGLISH], ENGLISH_BOOSTS)]


def _expression(connection: sqlite3.Connection, g: str, text: str | None) -> str | None:
    """The FTS5 query of `text`: every word, each as itself or, when a word of 4+ letters is found
    nowhere, as any indexed word one edit away. None when the text has no words.
    """
    terms = list(dict.fromkeys(words(text or "")))
    if not terms:
        return None
    groups = []
    for term in terms:
        alternatives = [term]
        if fuzzy(term) and not _found(connection, g, term):
            alternatives += _neighbours(connection, g, term)
        groups.append("(" + " OR ".join(f'"{alternative}"' for alternative in alternatives) + ")")
    return " AND ".join(groups)


def _found(connection: sqlite3.Connection, g: str, term: str) -> bool:
    match = f"SELECT 1 FROM {g}text WHERE {g}text MATCH ? LIMIT 1"
    return connection.execute(match, (f'"{term}"',)).fetchone() is not None


def _neighbours(connection: sqlite3.Connection, g: str, term: str) -> list[str]:
    """Indexed words one edit from `term`: they share `term` or one of its one-deletion variants."""
    variants = sorted(deletions(term))
    candidates = connection.execute(
        f"SELECT DISTINCT word FROM {g}words WHERE variant IN ({', '.join('?' * len(variants))})", variants
    )
    return sorted(word for (word,) in candidates if word != term and one_edit_apart(word, term))


def _hits(
    connection: sqlite3.Connection,
    g: str,
    weighted: list[tuple[int, tuple[float, ...]]],
    expression: str,
    *,
    scored: bool,
    filtered: bool,
) -> dict[int, float]:
    """The products whose texts in one of the languages match (and, when `filtered`, that `selected(pid)`
    holds), with their best score when `scored` (bm25 is most of a text query's cost), else 0.
    """
    kept = f"AND selected(rowid & {PIDS})" if filtered else ""
    hits: dict[int, float] = {}
    for number, boosts in weighted:
        score = f"bm25({g}text, {', '.join(str(boost) for boost in boosts)})" if scored else "0.0"
        rows = connection.execute(
            f"SELECT rowid & {PIDS}, {score} FROM {g}text "
            f"WHERE {g}text MATCH ? AND rowid BETWEEN ? AND ? {kept}",
            (expression, *_rows_of(number)),
        )
        if not hits:
            hits = dict(rows)
            continue
        for pid, value in rows:
            if value < hits.get(pid, math.inf):
                hits[pid] = value
    return hits


def _page(hits: list[dict[str, object]], bitmaps: Bitmaps, selected: int) -> SearchPage:
    """The page with the facets of the `selected` products."""
    categories: list[FacetCount] = []
    attributes: dict[str, list[FacetCount]] = {}
    in_range: dict[int, int] = {}
    for (facet, key, value), bits in bitmaps.maps.items():
        if facet in ("category", "attribute", "price") and (count := (bits & selected).bit_count()):
            if facet == "category":
                categories.append(FacetCount(value, count))
            elif facet == "attribute":
                attributes.setdefault(key, []).append(FacetCount(value, count))
            else:
                in_range[int(value)] = count
    return SearchPage(
        total=selected.bit_count(),
        hits=hits,
        categories=sorted(categories, key=_by_count),
        attributes={key: sorted(values, key=_by_count) for key, values in sorted(attributes.items())},
        price_ranges=[
            PriceRangeCount(price_range_key(low, high), low, high, in_range[bit])
            for bit, (low, high) in enumerate(PRICE_RANGES)
            if bit in in_range
        ],
    )


def _by_count(facet: FacetCount) -> tuple[int, str]:
    return -facet.count, facet.value


def suggest(
    text: str, language: str, limit: int, connection: sqlite3.Connection, generation: int
) -> list[str]:
    """Names (in `language`, else English) with a word starting with the last word of `text` (and the
    words before it whole), shortest first, each once.
    """
    terms = words(text)
    if not terms or limit <= 0:
        return []
    *whole, last = terms
    expression = " AND ".join([*(f'name : "{w}"' for w in whole), f'name : "{last}" *'])
    g, known = prefix(generation), languages(connection, generation)
    english = f'$."{ENGLISH}"'
    # (language number, the path of its name in `names`, which products, their parameters)
    arms: list[tuple[int, str, str, list[str]]] = [(known[ENGLISH], english, "true", [])]
    if language != ENGLISH and language in known and LANGUAGE_CODE.fullmatch(language):
        own = f'$."{language}"'
        unnamed = "coalesce(json_extract(p.names, ?), '') = ''"  # no name in the language: English shows
        arms = [(known[language], own, "true", []), (known[ENGLISH], english, unnamed, [own])]
    found: list[tuple[str, str]] = []
    for number, shown, products, parameters in arms:
        found += connection.execute(
            f"SELECT t.name, json_extract(p.names, ?) FROM {g}text t "
            f"JOIN {g}documents p ON p.pid = t.rowid & {PIDS} "
            f"WHERE {g}text MATCH ? AND t.rowid BETWEEN ? AND ? AND {products} "
            "GROUP BY t.name ORDER BY length(t.name), t.name LIMIT ?",
            [shown, expression, *_rows_of(number), *parameters, limit],
        ).fetchall()
    found.sort(key=lambda row: (len(row[0]), row[0]))
    return list(dict.fromkeys(name for _, name in found))[:limit]


def stamps(connection: sqlite3.Connection, generation: int) -> dict[str, datetime]:
    rows = connection.execute(f"SELECT id, updated FROM {prefix(generation)}products")
    return {product_id: datetime.fromisoformat(updated) for product_id, updated in rows}
