"""Text as the search index compares it: folded (no case, no diacritics), cut into words, and the words
one edit away from a word (typo tolerance).
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")  # letters and digits: what SQLite's unicode61 tokenizer keeps too


class _Marks(dict[int, int | None]):
    """`str.translate` table dropping combining marks (accents, Arabic harakat), filled as characters come."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)).startswith("M") else code
        self[code] = kept
        return kept


_MARKS = _Marks()


def fold(text: str) -> str:
    """Lower-case and without diacritics: `Électronique` -> `electronique`, `Straße` -> `strasse`."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text.casefold()).translate(_MARKS)


def words(text: str) -> list[str]:
    """The folded words of `text`, in order: `T-shirt (XL)` -> `["t", "shirt", "xl"]`."""
    return _WORD.findall(fold(text))


def fuzzy(word: str) -> bool:
    """Whether a (folded) query word may match with a typo: four letters or more, no digits."""
    return len(word) >= 4 and word.isalpha()


def deletions(word: str) -> set[str]:
    """`word` and each string one deletion away: two words one edit apart share one of these."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def one_edit_apart(a: str, b: str) -> bool:
    """At most one insertion, deletion, substitution or swap of neighbours (Damerau) turns `a` into `b`."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) < len(b):
        return a[start:] == b[start + 1 :]
    rest = start + 1
    if a[rest:] == b[rest:]:
        return True  # equal, or one substitution
    return a[start : rest + 1] == b[start : rest + 1][::-1] and a[rest + 1 :] == b[rest + 1 :]
