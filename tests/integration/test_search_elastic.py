"""The Elasticsearch search index: its explicit mapping, restarts, the alias swap, and the port's rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from elasticsearch import BadRequestError

from kit.search import IndexedVariant, SearchDocument, SearchQuery, open_search
from kit.search.elastic import ElasticSearch
from tests.support import real_server_url, scratch_elastic_index

pytestmark = pytest.mark.integration

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def product(
    number: int,
    name: str,
    prices: Sequence[str] = ("10",),
    *,
    stock: int = 3,
    category: str = "shoes",
    attributes: Mapping[str, str] | None = None,
    description: str = "",
    french: str | None = None,
) -> SearchDocument:
    created = EPOCH + timedelta(days=number)
    return SearchDocument(
        id=f"p{number:03d}",
        sku=f"SKU-{number:03d}",
        name={"en": name} | ({"fr": french} if french else {}),
        description={"en": description},
        category_names=[{"en": category.title(), "fr": category.title()}],
        category_slugs=[category, "all"],
        variants=[
            IndexedVariant(f"v{number}-{i}", Decimal(price), stock, attributes or {})
            for i, price in enumerate(prices)
        ],
        created_at=created,
        updated_at=created + timedelta(hours=1),
        document={"id": f"p{number:03d}", "name": {"en": name}},
    )


@pytest.fixture
async def elastic() -> AsyncIterator[ElasticSearch]:
    async with scratch_elastic_index() as url, ElasticSearch(url) as index:
        await index.ensure()
        yield index


def ids(hits: Sequence[Mapping[str, object]]) -> list[object]:
    return [hit["id"] for hit in hits]


async def test_open_search_picks_elasticsearch_for_http_and_the_alias_from_the_path() -> None:
    async with open_search("http://127.0.0.1:9200/catalog") as index:
        assert isinstance(index, ElasticSearch)
        assert index.alias == "catalog"


async def test_the_mapping_is_explicit_and_refuses_unknown_fields(elastic: ElasticSearch) -> None:
    mapping = (await elastic.client.indices.get_mapping(index=elastic.alias)).body
    (properties,) = [entry["mappings"] for entry in mapping.values()]
    assert properties["dynamic"] == "strict"
    fields = properties["properties"]
    assert (
        fields["sku"]["type"]
        == fields["category_slugs"]["type"]
        == fields["attribute_pairs"]["type"]
        == "keyword"
    )
    assert fields["name_fr"]["type"] == "text"
    assert fields["variants"]["type"] == "nested"
    assert fields["variants"]["properties"]["stock"]["type"] == "integer"
    assert fields["document"]["enabled"] is False
    with pytest.raises(BadRequestError, match="strict_dynamic_mapping_exception"):
        await elastic.client.index(index=elastic.alias, id="x", document={"primaryImageUrl": "a.png"})


async def test_ensure_on_an_existing_index_keeps_its_documents(elastic: ElasticSearch) -> None:
    await elastic.upsert([product(1, "Trail Running Shoe")])
    async with ElasticSearch(real_server_url("COMMERCE_TEST_ELASTIC_URL"), alias=elastic.alias) as restarted:
        await restarted.ensure()
        assert ids((await restarted.search(SearchQuery(text="running"))).hits) == ["p001"]


async def test_a_misspelled_accentless_word_finds_the_product_and_names_outrank_descriptions(
    elastic: ElasticSearch,
) -> None:
    await elastic.upsert(
        [
            product(1, "Leather Boot", description="goes with a wool sweater"),
            product(2, "Wool Sweater"),
            product(3, "Café Crème Mug", french="Tasse à café crème"),
            product(4, "Große Tasche"),
        ]
    )
    assert ids((await elastic.search(SearchQuery(text="swaeter"))).hits) == ["p002", "p001"]
    assert ids((await elastic.search(SearchQuery(text="CAFE creme", language="fr"))).hits) == ["p003"]
    assert ids((await elastic.search(SearchQuery(text="grosse"))).hits) == ["p004"]
    assert ids((await elastic.search(SearchQuery(text="wool boots"))).hits) == ["p001"]  # words across fields
    assert ids((await elastic.search(SearchQuery(text="sku-002"))).hits) == ["p002"]


async def test_filters_and_facets_count_over_the_filtered_set(elastic: ElasticSearch) -> None:
    await elastic.upsert(
        [
            product(1, "Red Shoe", ("40", "120"), attributes={"Color": "Red", "Size": "M"}),
            product(2, "Blue Shoe", ("100",), attributes={"Color": "Blue", "Size": "L"}),
            product(3, "Green Shoe", ("60",), stock=0, attributes={"Color": "Green", "Size": "M"}),
            product(4, "Red Hat", ("15",), category="hats", attributes={"Color": "Red", "Size": "L"}),
        ]
    )
    page = await elastic.search(SearchQuery(category="shoes", min_price=Decimal(50), max_price=Decimal(120)))
    assert ids(page.hits) == ["p003", "p002", "p001"]  # no text: newest first
    assert [(c.value, c.count) for c in page.categories] == [("all", 3), ("shoes", 3)]
    assert [(r.key, r.count) for r in page.price_ranges] == [
        ("*-50.0", 1),  # p001's other variant
        ("50.0-100.0", 1),
        ("100.0-200.0", 2),
    ]
    page = await elastic.search(
        SearchQuery(in_stock=True, attributes={"Color": ["Red", "Blue"], "Size": ["L"]})
    )
    assert ids(page.hits) == ["p004", "p002"]
    assert {key: [(f.value, f.count) for f in facets] for key, facets in page.attributes.items()} == {
        "Color": [("Blue", 1), ("Red", 1)],
        "Size": [("L", 2)],
    }


async def test_sorting_by_lowest_price_pages_without_overlap_and_past_the_window_is_empty(
    elastic: ElasticSearch,
) -> None:
    await elastic.upsert([product(n, f"Shoe {n}", (str(100 - n % 3), "500")) for n in range(1, 10)])
    pages = [
        ids((await elastic.search(SearchQuery(sort_by="price", sort_order="asc", page=p, limit=4))).hits)
        for p in (1, 2, 3)
    ]
    assert pages == [["p002", "p005", "p008", "p001"], ["p004", "p007", "p003", "p006"], ["p009"]]
    far = await elastic.search(SearchQuery(page=10_000, limit=24))
    assert (far.total, far.hits) == (9, [])


async def test_upsert_replaces_delete_ignores_missing_ids_and_stamps_follow(elastic: ElasticSearch) -> None:
    await elastic.upsert([product(1, "Old Name"), product(2, "Other")])
    await elastic.upsert([product(1, "New Name")])
    await elastic.delete(["p002", "never-indexed"])
    assert ids((await elastic.search(SearchQuery(text="name"))).hits) == ["p001"]
    assert (await elastic.search(SearchQuery(text="old"))).total == 0
    assert await elastic.stamps() == {"p001": EPOCH + timedelta(days=1, hours=1)}


async def test_suggest_completes_a_word_of_a_name_in_the_language_else_english(
    elastic: ElasticSearch,
) -> None:
    await elastic.upsert(
        [product(1, "Trail Running Shoe", french="Chaussure de trail"), product(2, "Runner Sock")]
    )
    assert await elastic.suggest("run", language="en") == [
        "Runner Sock",
        "Trail Running Shoe",
    ]  # shortest first
    assert await elastic.suggest("trail runn", language="en") == ["Trail Running Shoe"]
    assert await elastic.suggest("run", language="fr") == ["Runner Sock"]  # p001 has a French name
    assert await elastic.suggest("chaus", language="fr") == ["Chaussure de trail"]
    assert await elastic.suggest("sock", language="fr") == ["Runner Sock"]


async def test_rebuild_swaps_the_alias_while_searches_keep_answering(elastic: ElasticSearch) -> None:
    await elastic.upsert([product(n, f"Shoe {n}") for n in range(1, 6)])
    (old,) = (await elastic.client.indices.get_alias(name=elastic.alias)).body
    answers: list[int] = []
    done = asyncio.Event()

    async def search_loop() -> None:
        while not done.is_set():
            answers.append((await elastic.search(SearchQuery(text="shoe"))).total)

    async def batches() -> AsyncIterator[list[SearchDocument]]:
        for start in range(1, 400, 50):
            await asyncio.sleep(0.05)
            if start == 51:  # a write during the rebuild reaches the new generation too
                await elastic.upsert([product(999, "Late Shoe")])
            yield [product(n, f"Shoe {n}") for n in range(start, start + 50)]

    loop = asyncio.create_task(search_loop())
    try:
        assert await elastic.rebuild(batches()) == 400
    finally:
        done.set()
        await loop
    assert len(answers) > 3  # searches ran all along the rebuild
    assert min(answers) >= 5
    (new,) = (await elastic.client.indices.get_alias(name=elastic.alias)).body
    assert new != old
    assert not await elastic.client.indices.exists(index=old)
    assert (await elastic.search(SearchQuery(text="shoe"))).total == 401
