"""Multilingual texts: `{"en": ..., "fr": ..., "ar": ...}`, in the caller's language, else English; the
language is the caller's `Accept-Language` (`LanguageDep`). The products service and the search service
show the same texts alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Header

LANGUAGES = ("en", "fr", "ar")
DEFAULT_LANGUAGE = "en"


def preferred_language(accept_language: str | None) -> str:
    """The best supported language of an `Accept-Language` header (`fr-FR,fr;q=0.9` -> `fr`), by q-value.

    The seed took the first entry cut to two letters; weights are honoured here too, and anything
    unparsable falls back to English rather than failing the request.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate(accept_language.split(",")):
        tag, _, params = entry.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().split("-")[0].lower()
        if language in LANGUAGES and weight > 0:
            ranked.append((-weight, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def localise(text: Mapping[str, str] | None, language: str) -> str | None:
    """`text[language]`, else the English text, else any text there is (the seed's `obj[lang] || obj.en`)."""
    if not text:
        return None
    return text.get(language) or text.get(DEFAULT_LANGUAGE) or next(iter(text.values()), None)


async def get_language(
    accept_language: Annotated[
        str | None, Header(description="`fr-FR,fr;q=0.9`: texts in French where they exist")
    ] = None,
) -> str:
    """`en`, `fr` or `ar`, from `Accept-Language` (English when none fits)."""
    return preferred_language(accept_language)


LanguageDep = Annotated[str, Depends(get_language)]
