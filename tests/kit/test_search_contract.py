"""The search-index contract (`kit/search/__init__.py`), the same for every engine.

The tests know only the port: an engine may show a write a moment later, so a test that wrote waits for
it through searches (`settled`) before it asserts. An engine is one entry of ENGINES: an async context
that yields the URL of an index of its own and removes the index afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kit.search import (
    PRICE_RANGES,
    FacetCount,
    IndexedVariant,
    PriceRangeCount,
    SearchDocument,
    SearchIndex,
    SearchPage,
    SearchQuery,
    SortField,
    SortOrder,
    open_search,
    price_range_key,
)
from tests.support import scratch_elastic_index


@contextlib.asynccontextmanager
async def sqlite_index(tmp_path: Path) -> AsyncIterator[str]:
    yield f"sqlite:///{tmp_path}/search/index.db"


@contextlib.asynccontextmanager
async def elastic_index(tmp_path: Path) -> AsyncIterator[str]:
    async with scratch_elastic_index() as url:
        yield url


ENGINES: list[Any] = [
    pytest.param(sqlite_index, id="sqlite"),
    pytest.param(elastic_index, id="elasticsearch", marks=pytest.mark.integration),
]
VISIBLE_WITHIN = 10.0  # seconds an engine may take to show a write


@pytest.fixture(params=ENGINES)
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    engine: Callable[[Path], AbstractAsyncContextManager[str]] = request.param
    async with engine(tmp_path) as index_url:
        yield index_url


@pytest.fixture
async def index(url: str) -> AsyncIterator[SearchIndex]:
    async with open_search(url) as opened:
        await opened.ensure()
        yield opened


DAY = datetime(2025, 3, 1, tzinfo=UTC)


def product(
    product_id: str,
    name: Mapping[str, str],
    variants: Sequence[tuple[str, int, Mapping[str, str]]] = (("10.00", 1, {}),),
    *,
    sku: str | None = None,
    description: Mapping[str, str] | None = None,
    categories: Sequence[tuple[str, Mapping[str, str]]] = (),
    day: int = 0,
    rating: float = 0.0,
) -> SearchDocument:
    """A document; `categories` are (slug, names) pairs, `variants` (price, stock, attributes)."""
    return SearchDocument(
        id=product_id,
        sku=sku or f"SKU-{product_id.upper()}",
        name=name,
        description=description or {},
        category_names=[names for _, names in categories],
        category_slugs=[slug for slug, _ in categories],
        variants=[
            IndexedVariant(f"{product_id}-{n}", Decimal(price), stock, attributes)
            for n, (price, stock, attributes) in enumerate(variants)
        ],
        created_at=DAY + timedelta(days=day),
        updated_at=DAY + timedelta(days=day, hours=1),
        document={"id": product_id, "name": dict(name), "day": day},
        average_rating=rating,
    )


ACCESSORIES = ("accessoires", {"en": "Accessories", "fr": "Accessoires"})
BAGS = ("sacs", {"en": "Bags", "fr": "Sacs"})
ELECTRONICS = ("electronique", {"en": "Electronics", "fr": "Électronique"})
SMARTPHONES = ("smartphones", {"en": "Smartphones", "fr": "Smartphones"})
LAPTOPS = ("ordinateurs-portables", {"en": "Laptops", "fr": "Ordinateurs portables"})
GADGETS = ("accessoires-electroniques", {"en": "Electronic Accessories", "fr": "Accessoires électroniques"})

CATALOG = [
    product(
        "bag",
        {"en": "Leather Bag", "fr": "Sac en cuir"},
        [("45.00", 3, {"Color": "Black"}), ("55.00", 0, {"Color": "Brown"})],
        categories=[BAGS, ACCESSORIES],
        day=1,
        rating=4.5,
    ),
    product(
        "wallet",
        {"en": "Leather Wallet", "fr": "Portefeuille en cuir"},
        [("25.00", 10, {"Color": "Brown"})],
        categories=[ACCESSORIES],
        day=2,
        rating=3.0,
    ),
    product(
        "phone",
        {"en": "Smartphone Pro", "fr": "Smartphone Pro"},
        [
            ("699.00", 5, {"Color": "Black", "Storage": "128GB"}),
            ("899.00", 0, {"Color": "White", "Storage": "256GB"}),
        ],
        categories=[SMARTPHONES, ELECTRONICS],
        day=3,
        rating=5.0,
    ),
    product(
        "laptop",
        {"en": "Laptop Air"},
        [("1299.00", 0, {"Color": "Grey", "Storage": "512GB"})],
        categories=[LAPTOPS, ELECTRONICS],
        day=4,
    ),
    product(
        "case",
        {"en": "Phone Case", "fr": "Coque de téléphone"},
        [("15.00", 100, {"Color": "Black"})],
        description={"en": "Protects your smartphone from drops"},
        categories=[GADGETS, ELECTRONICS],
        day=5,
        rating=3.0,
    ),
]
RATED = {document.id: document for document in CATALOG}


async def settled(index: SearchIndex, query: SearchQuery, total: int) -> SearchPage:
    """The page of `query` once it counts `total` products (failing after VISIBLE_WITHIN seconds)."""
    deadline = time.monotonic() + VISIBLE_WITHIN
    while True:
        page = await index.search(query)
        if page.total == total or time.monotonic() > deadline:
            assert page.total == total, f"{query} still finds {page.total} products, not {total}"
            return page
        await asyncio.sleep(0.05)


async def indexed(index: SearchIndex, documents: Sequence[SearchDocument] = CATALOG) -> None:
    await index.upsert(documents)
    await settled(index, SearchQuery(), len(documents))


async def ids(index: SearchIndex, **query: Any) -> list[str]:
    return [hit["id"] for hit in (await index.search(SearchQuery(**query))).hits]


class TestWrites:
    async def test_the_index_outlives_a_restart_and_a_second_ensure(self, url: str) -> None:
        async with open_search(url) as index:
            await index.ensure()
            await indexed(index)
        async with open_search(url) as index:
            await index.ensure()
            page = await settled(index, SearchQuery(), len(CATALOG))
            assert {hit["id"] for hit in page.hits} == {p.id for p in CATALOG}

    async def test_a_document_replaces_the_products_previous_one(self, index: SearchIndex) -> None:
        await indexed(index, CATALOG[:1])
        renamed = product("bag", {"en": "Canvas Tote"}, [("80.00", 1, {"Color": "Beige"})], day=9)
        await index.upsert([renamed])
        page = await settled(index, SearchQuery(text="canvas"), 1)
        assert page.hits == [renamed.document]
        assert await ids(index, text="leather") == []
        assert (await index.search(SearchQuery())).attributes == {"Color": [FacetCount("Beige", 1)]}

    async def test_a_deleted_product_is_gone_and_unknown_ids_are_fine(self, index: SearchIndex) -> None:
        await indexed(index)
        await index.delete(["bag", "no-such-product"])
        await settled(index, SearchQuery(), len(CATALOG) - 1)
        await index.delete(["bag"])
        assert "bag" not in await ids(index)
        assert await ids(index, text="leather") == ["wallet"]

    async def test_stamps_hold_each_indexed_products_update_time(self, index: SearchIndex) -> None:
        await indexed(index)
        await index.delete(["case"])
        await settled(index, SearchQuery(), len(CATALOG) - 1)
        assert await index.stamps() == {p.id: p.updated_at for p in CATALOG if p.id != "case"}

    async def test_concurrent_callers_share_one_index(self, index: SearchIndex) -> None:
        await indexed(index)
        extra = [product(f"extra-{n}", {"en": f"Extra Lamp {n}"}, day=10 + n) for n in range(10)]
        writes = asyncio.gather(*(index.upsert([document]) for document in extra))
        searches = asyncio.gather(*(index.search(SearchQuery(text="leather")) for _ in range(20)))
        _, pages = await asyncio.gather(writes, searches)
        assert all(page.total == 2 for page in pages)
        await settled(index, SearchQuery(text="lamp"), 10)

    async def test_ping_answers(self, index: SearchIndex) -> None:
        await index.ping()


class TestText:
    async def test_every_word_of_the_text_must_match(self, index: SearchIndex) -> None:
        await indexed(index)
        assert sorted(await ids(index, text="leather")) == ["bag", "wallet"]
        assert await ids(index, text="leather wallet") == ["wallet"]
        assert await ids(index, text="leather phone") == []

    @pytest.mark.parametrize(
        ("typed", "found"),
        [
            ("lether", "bag"),
            ("leahter", "bag"),
            ("leatherr", "bag"),
            ("walet", "wallet"),
            ("laptap", "laptop"),
        ],
    )
    async def test_one_typo_in_a_word_of_four_letters_or_more_still_finds(
        self, index: SearchIndex, typed: str, found: str
    ) -> None:
        await indexed(index)
        assert found in await ids(index, text=typed)

    async def test_case_and_diacritics_do_not_matter(self, index: SearchIndex) -> None:
        await indexed(index)
        assert await ids(index, text="TELEPHONE", language="fr") == ["case"]
        assert sorted(await ids(index, text="electronique", language="fr")) == ["case", "laptop", "phone"]
        assert await ids(index, text="Leather BAG") == ["bag"]

    async def test_the_sku_finds_its_product(self, index: SearchIndex) -> None:
        await indexed(index)
        assert await ids(index, text="SKU-WALLET") == ["wallet"]

    async def test_fields_rank_name_categories_sku_description_attributes(self, index: SearchIndex) -> None:
        def shaped(product_id: str, word: str, field: str) -> SearchDocument:
            def text(here: str, other: str) -> str:
                return word if field == here else other

            return product(
                product_id,
                {"en": f"{text('name', 'Plain')} Lamp"},
                [("10.00", 1, {"Finish": text("attribute", "Matte")})],
                sku=f"{text('sku', 'LMP')}-{product_id[-1]}",
                description={"en": f"A {text('description', 'quiet')} light"},
                categories=[("lighting", {"en": text("category", "Lighting")})],
                day=len(field),  # not in field order, so a tie would show
            )

        fields = ["name", "category", "sku", "description", "attribute"]
        await indexed(index, [shaped(f"in-{field}", "Nova", field) for field in reversed(fields)])
        assert await ids(index, text="nova") == [f"in-{field}" for field in fields]

    async def test_the_querys_language_comes_first_then_english(self, index: SearchIndex) -> None:
        documents = [
            product("fr", {"en": "Night Light", "fr": "Lampe Nova"}, day=1),
            product("en", {"en": "Nova Lamp"}, day=2),
            product("ar", {"en": "Desk Light", "ar": "مصباح نوفا", "fr": "Lumière de bureau"}, day=3),
        ]
        await indexed(index, documents)
        assert await ids(index, text="nova", language="fr") == ["fr", "en"]
        assert await ids(index, text="nova", language="en") == ["en"]
        assert await ids(index, text="lumiere", language="fr") == ["ar"]
        assert await ids(index, text="lumiere", language="en") == []
        assert await ids(index, text="مصباح", language="fr") == []
        assert await ids(index, text="مصباح", language="ar") == ["ar"]

    async def test_a_text_without_words_matches_everything(self, index: SearchIndex) -> None:
        await indexed(index)
        assert (await index.search(SearchQuery(text=" -- "))).total == len(CATALOG)


class TestFilters:
    async def test_category_holds_the_products_of_its_subcategories(self, index: SearchIndex) -> None:
        await indexed(index)
        assert sorted(await ids(index, category="electronique")) == ["case", "laptop", "phone"]
        assert await ids(index, category="sacs") == ["bag"]
        assert await ids(index, category="nothing-here") == []

    @pytest.mark.parametrize(
        ("low", "high", "expected"),
        [
            ("40", "60", ["bag"]),
            ("45.00", "45.00", ["bag"]),  # inclusive
            ("46", "54", []),  # between the bag's two variants, none inside
            ("1000", None, ["laptop"]),
            (None, "20", ["case"]),
            ("800", "900", ["phone"]),  # its dearer variant
        ],
    )
    async def test_price_bounds_match_a_product_with_a_variant_within(
        self, index: SearchIndex, low: str | None, high: str | None, expected: list[str]
    ) -> None:
        await indexed(index)
        query = SearchQuery(
            min_price=None if low is None else Decimal(low), max_price=None if high is None else Decimal(high)
        )
        assert sorted(await ids(index, **vars(query))) == expected

    async def test_in_stock_needs_one_variant_with_stock(self, index: SearchIndex) -> None:
        await indexed(index)
        assert sorted(await ids(index, in_stock=True)) == ["bag", "case", "phone", "wallet"]

    @pytest.mark.parametrize(
        ("attributes", "expected"),
        [
            ({"Color": ["Black"]}, ["bag", "case", "phone"]),
            ({"Color": ["Grey", "White"]}, ["laptop", "phone"]),  # OR within a key
            ({"Color": ["Black"], "Storage": ["128GB"]}, ["phone"]),  # AND across keys
            ({"Color": ["Brown"], "Storage": ["128GB", "512GB"]}, []),
        ],
    )
    async def test_attributes_are_or_within_a_key_and_across_keys(
        self, index: SearchIndex, attributes: dict[str, list[str]], expected: list[str]
    ) -> None:
        await indexed(index)
        assert sorted(await ids(index, attributes=attributes)) == expected

    async def test_filters_and_text_combine(self, index: SearchIndex) -> None:
        await indexed(index)
        query = SearchQuery(text="leather", category="accessoires", max_price=Decimal(30), in_stock=True)
        assert [hit["id"] for hit in (await index.search(query)).hits] == ["wallet"]


class TestFacets:
    async def test_facets_count_the_whole_filtered_set(self, index: SearchIndex) -> None:
        await indexed(index)
        page = await index.search(SearchQuery(category="electronique", limit=1))
        assert page.total == 3
        assert len(page.hits) == 1
        assert page.categories == [
            FacetCount("electronique", 3),
            FacetCount("accessoires-electroniques", 1),
            FacetCount("ordinateurs-portables", 1),
            FacetCount("smartphones", 1),
        ]
        assert page.attributes == {
            "Color": [FacetCount("Black", 2), FacetCount("Grey", 1), FacetCount("White", 1)],
            "Storage": [FacetCount("128GB", 1), FacetCount("256GB", 1), FacetCount("512GB", 1)],
        }
        assert page.price_ranges == [
            PriceRangeCount("*-50.0", None, Decimal(50), 1),
            PriceRangeCount("500.0-*", Decimal(500), None, 2),
        ]

    async def test_a_product_counts_in_each_price_range_a_variant_lies_in(self, index: SearchIndex) -> None:
        await indexed(index)
        page = await index.search(SearchQuery())
        assert [(r.key, r.count) for r in page.price_ranges] == [
            ("*-50.0", 3),
            ("50.0-100.0", 1),
            ("500.0-*", 2),
        ]
        boundary = product("boundary", {"en": "Boundary"}, [("50.00", 1, {}), ("100.00", 1, {})])
        await indexed(index, [*CATALOG, boundary])
        page = await index.search(SearchQuery(text="boundary"))
        assert [(r.key, r.count) for r in page.price_ranges] == [("50.0-100.0", 1), ("100.0-200.0", 1)]

    async def test_text_narrows_the_facets_too(self, index: SearchIndex) -> None:
        await indexed(index)
        page = await index.search(SearchQuery(text="leather"))
        assert page.categories == [FacetCount("accessoires", 2), FacetCount("sacs", 1)]
        assert page.attributes == {"Color": [FacetCount("Brown", 2), FacetCount("Black", 1)]}


class TestSorting:
    @pytest.mark.parametrize(
        ("sort_by", "order", "expected"),
        [
            ("price", "asc", ["case", "wallet", "bag", "phone", "laptop"]),
            ("price", "desc", ["laptop", "phone", "bag", "wallet", "case"]),
            ("createdAt", "asc", ["bag", "wallet", "phone", "laptop", "case"]),
            ("createdAt", "desc", ["case", "laptop", "phone", "wallet", "bag"]),
            ("_score", "desc", ["case", "laptop", "phone", "wallet", "bag"]),  # no text: newest first
            ("averageRating", "desc", ["phone", "bag", "wallet", "case", "laptop"]),  # a tie: by id
            ("averageRating", "asc", ["laptop", "case", "wallet", "bag", "phone"]),
        ],
    )
    async def test_sorting(
        self, index: SearchIndex, sort_by: SortField, order: SortOrder, expected: list[str]
    ) -> None:
        await indexed(index)
        assert await ids(index, sort_by=sort_by, sort_order=order) == expected

    async def test_equal_scores_rank_the_newest_first(self, index: SearchIndex) -> None:
        twins = [product(f"twin-{day}", {"en": "Twin Lamp"}, day=day) for day in (3, 1, 2)]
        await indexed(index, twins)
        assert await ids(index, text="lamp") == ["twin-3", "twin-2", "twin-1"]

    async def test_a_new_rating_moves_the_product_and_text_sorts_by_rating_too(
        self, index: SearchIndex
    ) -> None:
        await indexed(index)
        await index.upsert([replace(RATED["laptop"], average_rating=4.8)])
        for _ in range(100):  # visible within a refresh
            if await ids(index, sort_by="averageRating", limit=2) == ["phone", "laptop"]:
                break
            await asyncio.sleep(0.05)
        assert await ids(index, sort_by="averageRating", limit=2) == ["phone", "laptop"]
        assert await ids(index, text="leather", sort_by="averageRating") == ["bag", "wallet"]

    @pytest.mark.parametrize("sort_by", ["price", "createdAt", "_score", "averageRating"])
    async def test_pages_never_overlap_even_on_ties(self, index: SearchIndex, sort_by: SortField) -> None:
        same = [product(f"same-{n:02d}", {"en": "Same Lamp"}, [("20.00", 1, {})]) for n in range(11)]
        await indexed(index, same)
        query = SearchQuery(text="lamp", sort_by=sort_by, limit=4)
        pages = [await index.search(replace(query, page=n)) for n in (1, 2, 3)]
        seen = [hit["id"] for page in pages for hit in page.hits]
        assert [len(page.hits) for page in pages] == [4, 4, 3]
        assert sorted(seen) == sorted(p.id for p in same)

    async def test_a_page_past_the_end_is_empty_with_the_total(self, index: SearchIndex) -> None:
        await indexed(index)
        page = await index.search(SearchQuery(page=3, limit=3))
        assert page.hits == []
        assert page.total == len(CATALOG)


class TestSuggest:
    async def test_names_with_a_word_starting_so_shortest_first(self, index: SearchIndex) -> None:
        await indexed(index)
        assert await index.suggest("lea", language="en") == ["Leather Bag", "Leather Wallet"]
        assert await index.suggest("PRO", language="en") == ["Smartphone Pro"]
        assert await index.suggest("ather", language="en") == []
        assert await index.suggest("lea", language="en", limit=1) == ["Leather Bag"]

    async def test_names_in_the_language_else_english(self, index: SearchIndex) -> None:
        await indexed(index)
        assert await index.suggest("port", language="fr") == ["Portefeuille en cuir"]
        assert await index.suggest("lap", language="fr") == ["Laptop Air"]  # no French name
        assert await index.suggest("lea", language="fr") == []  # their French names have no such word
        assert await index.suggest("tele", language="fr") == ["Coque de téléphone"]

    async def test_a_name_is_suggested_once(self, index: SearchIndex) -> None:
        await indexed(index, [product(f"lamp-{n}", {"en": "Nova Lamp"}) for n in range(3)])
        assert await index.suggest("nov", language="en") == ["Nova Lamp"]


class TestRebuild:
    async def test_a_rebuild_swaps_generations_and_keeps_live_writes(self, index: SearchIndex) -> None:
        await indexed(index)
        live = product("live", {"en": "Live Lamp"}, day=20)
        renamed_phone = product("phone", {"en": "Smartphone Max"}, day=3)

        async def batches() -> AsyncIterator[list[SearchDocument]]:
            yield CATALOG[:2]
            await index.upsert([live])  # written while the rebuild runs
            page = await settled(index, SearchQuery(), len(CATALOG) + 1)  # the old generation answers
            assert "phone" in [hit["id"] for hit in page.hits]
            assert await ids(index, text="max") == []
            yield [renamed_phone]

        assert await index.rebuild(batches()) == 3
        page = await settled(index, SearchQuery(), 4)
        assert sorted(hit["id"] for hit in page.hits) == ["bag", "live", "phone", "wallet"]
        assert await ids(index, text="max") == ["phone"]
        assert await ids(index, text="lamp") == ["live"]
        assert set(await index.stamps()) == {"bag", "live", "phone", "wallet"}

    async def test_a_failed_rebuild_leaves_the_index_as_it_was(self, index: SearchIndex) -> None:
        await indexed(index)

        async def batches() -> AsyncIterator[list[SearchDocument]]:
            yield CATALOG[:1]
            raise RuntimeError("the catalog went away")

        with pytest.raises(RuntimeError, match="went away"):
            await index.rebuild(batches())
        page = await settled(index, SearchQuery(), len(CATALOG))
        assert {hit["id"] for hit in page.hits} == {p.id for p in CATALOG}
        await index.upsert([product("after", {"en": "After Lamp"})])
        await settled(index, SearchQuery(text="lamp"), 1)

    async def test_searches_answer_while_a_rebuild_runs(self, index: SearchIndex) -> None:
        await indexed(index)
        proceed = asyncio.Event()

        async def batches() -> AsyncIterator[list[SearchDocument]]:
            yield [product(f"new-{n}", {"en": f"New Lamp {n}"}) for n in range(50)]
            await proceed.wait()
            yield [product("new-last", {"en": "New Lamp Last"})]

        rebuild = asyncio.create_task(index.rebuild(batches()))
        try:
            for _ in range(5):
                page = await index.search(SearchQuery(text="leather"))
                assert sorted(hit["id"] for hit in page.hits) == ["bag", "wallet"]
                await asyncio.sleep(0.01)
        finally:
            proceed.set()
        assert await rebuild == 51
        await settled(index, SearchQuery(text="lamp"), 51)
        assert await ids(index, text="leather") == []


def random_catalog(rng: random.Random, size: int) -> tuple[dict[str, SearchDocument], list[Decimal]]:
    """Products with unique lowest prices, creation times and ratings, so that no order has ties; and unused
    lowest prices, for changing them.
    """
    lowest = [Decimal(cents) / 100 for cents in rng.sample(range(100, 150_000), size * 2)]
    days = rng.sample(range(size * 3), size)
    ratings = [thousandths / 1000 for thousandths in rng.sample(range(5001), size)]
    catalog = {
        f"p{n:04d}": replace(random_product(rng, f"p{n:04d}", lowest[n], days[n]), average_rating=ratings[n])
        for n in range(size)
    }
    return catalog, lowest[size:]


def random_product(rng: random.Random, product_id: str, lowest: Decimal, day: int) -> SearchDocument:
    trees = {"home": ["chairs", "lamps", "rugs"], "garden": ["tools", "seeds"]}
    parent, leaf = rng.choice([(parent, leaf) for parent, children in trees.items() for leaf in children])
    variants = [
        (
            str(lowest if v == 0 else lowest + Decimal(rng.randrange(1, 60_000)) / 100),
            rng.choice([0, 0, 3, 10]),
            {"Color": rng.choice(COLORS), **({"Size": rng.choice(SIZES)} if rng.random() < 0.7 else {})},
        )
        for v in range(rng.randint(1, 3))
    ]
    categories = [(leaf, {"en": leaf.title()}), (parent, {"en": parent.title()})]
    return product(product_id, {"en": f"Item {product_id}"}, variants, categories=categories, day=day)


COLORS = ["Red", "Green", "Blue", "Black", "White"]
SIZES = ["S", "M", "L", "XL"]


def random_query(rng: random.Random, catalog: Mapping[str, SearchDocument]) -> SearchQuery:
    prices = sorted({v.price for d in catalog.values() for v in d.variants})
    bounds = [None, None, rng.choice(prices), Decimal(rng.randrange(0, 2_000_000)) / 100]
    low, high = sorted((rng.choice(bounds), rng.choice(bounds)), key=lambda b: (b is not None, b))
    return SearchQuery(
        category=rng.choice([None, None, "home", "garden", "lamps", "seeds", "nowhere"]),
        min_price=low if rng.random() < 0.5 else None,
        max_price=high,
        in_stock=rng.random() < 0.3,
        attributes={
            key: rng.sample(values, rng.randint(1, 2))
            for key, values in (("Color", COLORS), ("Size", SIZES))
            if rng.random() < 0.3
        },
        page=rng.choice([1, 1, 2, 3, 7]),
        limit=rng.choice([1, 5, 24]),
        sort_by=rng.choice(["_score", "price", "createdAt", "averageRating"]),
        sort_order=rng.choice(["asc", "desc"]),
    )


def model_page(catalog: Mapping[str, SearchDocument], query: SearchQuery) -> SearchPage:
    """What the docstring of kit/search says a query without text answers, computed the slow way."""

    def within(
        variant: IndexedVariant, low: Decimal | None, high: Decimal | None, *, inclusive: bool
    ) -> bool:
        above = low is None or variant.price >= low
        below = high is None or (variant.price <= high if inclusive else variant.price < high)
        return above and below

    def kept(d: SearchDocument) -> bool:
        pairs = {pair for v in d.variants for pair in v.attributes.items()}
        return (
            (query.category is None or query.category in d.category_slugs)
            and (not query.in_stock or any(v.stock_quantity > 0 for v in d.variants))
            and (
                (query.min_price is None and query.max_price is None)
                or any(within(v, query.min_price, query.max_price, inclusive=True) for v in d.variants)
            )
            and all(
                not values or any((k, v) in pairs for v in values) for k, values in query.attributes.items()
            )
        )

    found = [d for d in catalog.values() if kept(d)]
    if query.sort_by == "price":
        found.sort(key=lambda d: min(v.price for v in d.variants), reverse=query.sort_order == "desc")
    elif query.sort_by == "createdAt":
        found.sort(key=lambda d: d.created_at, reverse=query.sort_order == "desc")
    elif query.sort_by == "averageRating":
        found.sort(key=lambda d: d.average_rating, reverse=query.sort_order == "desc")
    else:
        found.sort(key=lambda d: d.created_at, reverse=True)
    start = (query.page - 1) * query.limit

    def counts(values: list[str]) -> list[FacetCount]:
        return sorted(
            (FacetCount(v, n) for v, n in Counter(values).items()), key=lambda f: (-f.count, f.value)
        )

    pairs = [pair for d in found for pair in {pair for v in d.variants for pair in v.attributes.items()}]
    ranges = [
        PriceRangeCount(price_range_key(low, high), low, high, n)
        for low, high in PRICE_RANGES
        if (n := sum(any(within(v, low, high, inclusive=False) for v in d.variants) for d in found))
    ]
    return SearchPage(
        total=len(found),
        hits=[d.document for d in found[start : start + query.limit]],
        categories=counts([slug for d in found for slug in d.category_slugs]),
        attributes={key: counts([v for k, v in pairs if k == key]) for key in sorted({k for k, _ in pairs})},
        price_ranges=ranges,
    )


class TestAgainstAModel:
    async def test_filters_facets_sorts_and_pages_match_the_model(self, index: SearchIndex) -> None:
        rng = random.Random(7)
        catalog, unused_prices = random_catalog(rng, 400)
        await indexed(index, list(catalog.values()))
        for _ in range(150):
            query = random_query(rng, catalog)
            assert await index.search(query) == model_page(catalog, query), query

        for product_id, lowest in zip(rng.sample(sorted(catalog), 60), unused_prices, strict=False):
            day = (catalog[product_id].created_at - DAY).days  # other prices, attributes and categories
            rating = catalog[product_id].average_rating  # its ratings stay unique
            catalog[product_id] = replace(random_product(rng, product_id, lowest, day), average_rating=rating)
            await index.upsert([catalog[product_id]])
        gone = rng.sample(sorted(catalog), 40)
        await index.delete(gone)
        for product_id in gone:
            del catalog[product_id]
        await settled(index, SearchQuery(), len(catalog))
        for _ in range(150):
            query = random_query(rng, catalog)
            assert await index.search(query) == model_page(catalog, query), query
