"""`GET /suggest`: product names completing a word's start, in the caller's language."""

from __future__ import annotations

import httpx


async def suggestions(client: httpx.AsyncClient, query: str, language: str = "en") -> list[str]:
    response = await client.get(f"/suggest?{query}", headers={"Accept-Language": language})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"suggestions"}
    names: list[str] = response.json()["suggestions"]
    return names


async def test_names_a_word_of_which_starts_with_q_are_suggested(client: httpx.AsyncClient) -> None:
    assert sorted(await suggestions(client, "q=lam")) == ["Desk Lamp", "Floor Lamp"]
    assert await suggestions(client, "q=%20Sof%20") == ["Leather Sofa"]
    assert await suggestions(client, "q=zebra") == []


async def test_names_are_in_the_callers_language_else_english(client: httpx.AsyncClient) -> None:
    assert sorted(await suggestions(client, "q=lamp", "fr")) == ["Lampadaire", "Lampe de bureau"]
    assert await suggestions(client, "q=mug", "fr") == ["Red Mug"]


async def test_limit_bounds_the_suggestions(client: httpx.AsyncClient) -> None:
    assert len(await suggestions(client, "q=lam&limit=1")) == 1
