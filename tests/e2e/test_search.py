"""Through the gateway: what admins change in the catalog reaches search through the catalog worker, a
reindex swaps a new index in while searches keep answering, and the scheduled reconcile repairs drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import string
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from commerce import cli
from contracts import search
from kit.auth.services import service_tokens
from kit.infra import open_infra
from tests.e2e.conftest import Shop, open_shop
from tests.support import eventually, scratch_elastic_index
from workflows import reconcile_search, sync_product

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["embedded", "elasticsearch"])
async def shop(
    request: pytest.FixtureRequest, own_temporal: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Shop]:
    """The platform on its embedded search engine, and on the run's Elasticsearch (a scratch alias)."""
    async with contextlib.AsyncExitStack() as stack:
        overrides: dict[str, Any] = {}
        if request.param == "elasticsearch":
            overrides["search_url"] = await stack.enter_async_context(scratch_elastic_index())
        yield await stack.enter_async_context(
            open_shop(own_temporal, tmp_path_factory.mktemp("platform"), **overrides)
        )


def unique_word() -> str:
    return "lumin" + "".join(random.choices(string.ascii_lowercase, k=6))


def misspelled(word: str) -> str:
    """One letter changed in the middle: a typo search still finds."""
    middle = len(word) // 2
    return word[:middle] + ("x" if word[middle] != "x" else "y") + word[middle + 1 :]


async def lantern(shop: Shop, word: str, stock: int) -> tuple[str, str]:
    body = {
        "sku": f"SKU-{word.upper()}",
        "name": {"en": f"{word.title()} lantern", "fr": f"Lanterne {word}"},
        "variants": [{"attributes": {"Color": "Amber"}, "price": "30.00", "initialStockQuantity": stock}],
    }
    response = await shop.http.post("/products", json=body, headers=shop.admin)
    assert response.status_code == 201, response.text
    product = response.json()
    product = product.get("data", product)
    return product["id"], product["variants"][0]["id"]


async def found(shop: Shop, q: str, **params: Any) -> list[str]:
    response = await shop.http.get("/search/products", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["data"]]


async def test_a_new_product_is_found_by_a_misspelled_word_and_leaves_in_stock_when_sold_out(
    shop: Shop,
) -> None:
    word = unique_word()
    product_id, variant_id = await lantern(shop, word, stock=1)

    async def searchable() -> bool:
        return await found(shop, misspelled(word)) == [product_id]

    await eventually(searchable, within=30, interval=0.2)
    assert await found(shop, word, inStock="true") == [product_id]

    sold = await shop.order(variant_id, quantity=1)
    assert sold.status_code == 201, sold.text

    async def sold_out() -> bool:
        return await found(shop, word, inStock="true") == []

    await eventually(sold_out, within=30, interval=0.2)
    assert await found(shop, word) == [product_id]  # still found, just not in stock


async def test_a_reindex_swaps_in_a_new_index_while_searches_keep_answering(shop: Shop) -> None:
    word = unique_word()
    product_id, _ = await lantern(shop, word, stock=5)

    async def searchable() -> bool:
        return await found(shop, word) == [product_id]

    await eventually(searchable, within=30, interval=0.2)
    answers: list[list[str]] = []
    done = asyncio.Event()

    async def keep_searching() -> None:
        while not done.is_set():
            answers.append(await found(shop, word))  # asserts each answer is a 200

    searching = asyncio.create_task(keep_searching())
    try:
        response = await shop.http.post("/search/admin/reindex", headers=shop.admin)
        assert (response.status_code, response.json()["status"]) == (202, "running"), response.text

        async def finished() -> bool:
            state = (await shop.http.get("/search/admin/reindex", headers=shop.admin)).json()
            return bool(state["status"] == "finished" and state["indexed"] >= 1)

        await eventually(finished, within=60, interval=0.2)
        await cli.reindex_search(shop.settings)  # `commerce search reindex`: the same, by the command
    finally:
        done.set()
        await searching
    assert answers
    assert all(answer == [product_id] for answer in answers)  # never an empty or half-built index
    assert await found(shop, word) == [product_id]


async def test_the_scheduled_reconcile_puts_back_a_product_lost_from_the_index(
    shop: Shop, own_temporal: str
) -> None:
    word = unique_word()
    product_id, _ = await lantern(shop, word, stock=2)

    async def searchable() -> bool:
        return await found(shop, word) == [product_id]

    await eventually(searchable, within=30, interval=0.2)
    async with open_infra(
        shop.settings.for_service("e2e")
    ) as infra:  # as if the write never happened (as the worker)
        http = infra.client(search.SERVICE, token=service_tokens(infra, "catalog"))
        await search.SearchClient(http).delete([product_id])
    assert await found(shop, word) == []

    temporal = await Client.connect(own_temporal, data_converter=pydantic_data_converter)
    schedule = temporal.get_schedule_handle(reconcile_search.schedule_id(sync_product.TASK_QUEUE))
    await schedule.trigger()
    await eventually(searchable, within=30, interval=0.2)


async def test_only_staff_may_reindex(shop: Shop) -> None:
    assert (await shop.http.post("/search/admin/reindex")).status_code == 401
    customer, _ = await shop.customer()
    response = await shop.http.post("/search/admin/reindex", headers=customer)
    assert (response.status_code, response.json()["code"]) == (403, "MissingPermission")
