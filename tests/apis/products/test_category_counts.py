"""Category listings at scale (issue 16): a category's count is read from its links' own columns (migration
0010), which every writer keeps equal to the truth: creation, updates, stock through the ledger, links added
and removed, a category moved, deletion and archiving, concurrent sales included. The count must equal what
the listing shows, a product on two leaves of one root counted once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.products import listing
from apis.products.app import MIGRATIONS
from apis.products.schemas.products import ProductQuery
from kit import db
from kit.settings import Settings
from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop

ROOT_OF = "(SELECT coalesce(c.parent_id, c.id) FROM category c WHERE c.id = {}.category_id)"
LINK_DRIFT = f"""
SELECT count(*) FROM product_category l JOIN product p ON p.id = l.product_id
 WHERE l.is_active != p.is_active OR l.in_stock != p.in_stock
    OR l.root_id IS DISTINCT FROM {ROOT_OF.format("l")}
    OR l.first_in_root != NOT EXISTS (SELECT 1 FROM product_category o WHERE o.product_id = l.product_id
        AND o.category_id < l.category_id AND {ROOT_OF.format("o")} = {ROOT_OF.format("l")})
"""


async def link_drift(engine: AsyncEngine) -> int:
    """Links whose listing columns disagree with their product and category (there should never be one)."""
    statement = (
        LINK_DRIFT if engine.dialect.name != "sqlite" else LINK_DRIFT.replace("IS DISTINCT FROM", "IS NOT")
    )
    async with engine.connect() as connection:
        return int(await connection.scalar(sa.text(statement)) or 0)


async def page(shop: Shop, query: str, *, as_: str | None = None) -> tuple[int, set[str]]:
    """The listing's total and the ids it shows (every one: fewer than a page)."""
    response = await shop.call("GET", f"/?limit=100&{query}", as_=as_)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["pagination"]["total"], {p["id"] for p in body["data"]}


async def check(shop: Shop, engine: AsyncEngine, slug: str, expected: dict[str, set[str]]) -> None:
    """Each listing of the category: its total is the number of products it shows, and they are those."""
    for query, ids in expected.items():
        staff = "isActive" in query
        total, shown = await page(shop, f"categorySlug={slug}&{query}", as_="admin" if staff else None)
        assert (total, shown) == (len(ids), ids), query
    assert await link_drift(engine) == 0


@ON_BOTH_DATABASES
async def test_a_categorys_count_follows_every_writer(shop: Shop, engine: AsyncEngine) -> None:
    root, other = await shop.category(), await shop.category()
    left, right = [(await shop.category(parent=root["id"]))["id"] for _ in range(2)]
    elsewhere = (await shop.category(parent=other["id"]))["id"]
    both = (await shop.product(categories=[left, right]))["id"]  # one product on two leaves of one root
    empty = (await shop.product(categories=[left], stock=0))["id"]
    hidden = (await shop.product(categories=[right], isActive=False))["id"]
    await check(
        shop,
        engine,
        root["slug"],
        {"": {both, empty}, "inStock=true": {both}, "isActive=false": {hidden}, "inStock=false": {empty}},
    )
    leaf = (await shop.call("GET", f"/categories/id/{right}", as_=None)).json()["slug"]
    await check(shop, engine, leaf, {"": {both}, "isActive=true&inStock=true": {both}})

    # stock through the ledger: out of stock, then back
    sold = (await shop.call("GET", f"/id/{both}", as_=None)).json()["data"]["variants"][0]["id"]
    assert (await shop.adjust(sold, -10, type="ORDER", relatedOrderId="order-1")).status_code == 201
    await check(shop, engine, root["slug"], {"inStock=true": set(), "": {both, empty}})
    assert (await shop.adjust(sold, 2, type="ORDER_CANCELLED", relatedOrderId="order-1")).status_code == 201
    await check(shop, engine, root["slug"], {"inStock=true": {both}})

    # updates: hidden shown, both hidden
    assert (await shop.call("PUT", f"/{hidden}", json={"isActive": True})).status_code == 200
    assert (await shop.call("PUT", f"/{both}", json={"isActive": False})).status_code == 200
    await check(shop, engine, root["slug"], {"": {hidden, empty}, "isActive=false": {both}})
    assert (await shop.call("PUT", f"/{both}", json={"isActive": True})).status_code == 200

    # links removed and added: the product stays once under the root while one of its links is left
    unlinked = await shop.call("DELETE", f"/{both}/categories", json={"categoryIds": [left]})
    assert unlinked.status_code == 200, unlinked.text
    await check(shop, engine, root["slug"], {"": {both, hidden, empty}})
    linked = await shop.call("POST", f"/{both}/categories", json={"categoryIds": [elsewhere, left]})
    assert linked.status_code == 201, linked.text
    await check(shop, engine, root["slug"], {"": {both, hidden, empty}})
    await check(shop, engine, other["slug"], {"": {both}})

    # a leaf moved to the other root takes its products along
    moved = await shop.call("PUT", f"/categories/{right}", json={"parentId": other["id"]})
    assert moved.status_code == 200, moved.text
    await check(shop, engine, other["slug"], {"": {both, hidden}})
    await check(shop, engine, root["slug"], {"": {both, empty}})

    # deleted (never ordered) and archived (ordered) products leave every count
    assert (await shop.call("DELETE", f"/{empty}")).status_code == 204
    assert (await shop.call("DELETE", f"/{both}")).status_code == 204
    await check(shop, engine, root["slug"], {"": set()})
    await check(shop, engine, other["slug"], {"": {hidden}, "inStock=true": {hidden}})


@ON_BOTH_DATABASES
async def test_concurrent_sales_and_updates_leave_a_categorys_counts_true(
    shop: Shop, engine: AsyncEngine
) -> None:
    """Each product's last unit sold while staff hide it: both changes reach its links, whichever is first."""
    root = await shop.category()
    leaves = [(await shop.category(parent=root["id"]))["id"] for _ in range(2)]
    products = [await shop.product(categories=leaves, stock=1) for _ in range(3)]
    token = shop.tokens.headers("service")
    sales = [
        shop.client.post(
            f"/stock/adjust/{p['variants'][0]['id']}",
            headers=token,
            json={"changeQuantity": -1, "type": "ADJUSTMENT"},
        )
        for p in products
    ]
    hidings = [shop.call("PUT", f"/{p['id']}", json={"isActive": False}) for p in products]
    responses = await asyncio.gather(*(x for pair in zip(sales, hidings, strict=True) for x in pair))
    assert [r.status_code for r in responses] == [201, 200] * 3
    ids = {p["id"] for p in products}
    await check(
        shop, engine, root["slug"], {"": set(), "isActive=false": ids, "isActive=false&inStock=true": set()}
    )


@ON_BOTH_DATABASES
async def test_the_migration_fills_the_links_listing_columns(products_settings: Settings) -> None:
    engine = db.open_engine(products_settings.for_service("products").service_database_url)
    try:
        await db.migrate(engine, MIGRATIONS, "0009")
        async with engine.begin() as connection:
            for key, parent in (("R", None), ("A", "R"), ("B", "R"), ("S", None)):
                await connection.execute(
                    sa.text(
                        "INSERT INTO category (id, name, slug, parent_id, created_at, updated_at)"
                        " VALUES (:id, '{}', :id, :parent, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": key, "parent": parent},
                )
            for sku, active, stocked in (("P", True, True), ("Q", False, False)):
                await connection.execute(
                    sa.text(
                        "INSERT INTO product (id, sku, name, is_active, average_rating, review_count,"
                        " created_at, updated_at, in_stock, rating_version)"
                        " VALUES (:sku, :sku, '{}', :active, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
                        " :stocked, 0)"
                    ),
                    {"sku": sku, "active": active, "stocked": stocked},
                )
            for product, category in (("P", "A"), ("P", "B"), ("Q", "B"), ("Q", "S")):
                await connection.execute(
                    sa.text("INSERT INTO product_category (product_id, category_id) VALUES (:p, :c)"),
                    {"p": product, "c": category},
                )
        await db.migrate(engine, MIGRATIONS)
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text(
                    "SELECT product_id, category_id, is_active, in_stock, root_id, first_in_root"
                    " FROM product_category ORDER BY product_id, category_id"
                )
            )
            found = [(p, c, bool(a), bool(s), r, bool(f)) for p, c, a, s, r, f in rows]
        assert found == [
            ("P", "A", True, True, "R", True),
            ("P", "B", True, True, "R", False),
            ("Q", "B", False, False, "R", True),
            ("Q", "S", False, False, "S", True),
        ]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("query", ["inStock=true&sortBy=price&sortOrder=asc", "", "page=3&limit=2"])
async def test_a_categorys_count_reads_one_range_of_the_links_index(
    shop: Shop, engine: AsyncEngine, query: str
) -> None:
    """On SQLite: the count of a root with children reads the links' root index alone, no product."""
    root = await shop.category()
    leaves = [(await shop.category(parent=root["id"]))["id"] for _ in range(2)]
    for n in range(6):
        await shop.product(categories=[leaves[n % 2]], stock=n % 2)
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    arguments = dict(pair.split("=") for pair in f"categorySlug={root['slug']}&{query}".strip("&").split("&"))
    sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
    async with db.session_factory(engine)() as session:
        found = await listing.list_products(
            session, ProductQuery.model_validate(arguments), "en", staff=False
        )
        sa.event.remove(engine.sync_engine, "before_cursor_execute", capture)
        statement, parameters = next(c for c in captured if c[0].startswith("SELECT count(*)"))
        connection = await session.connection()
        plan = [
            row[-1] for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    assert plan == [
        "SEARCH product_category USING COVERING INDEX ix_product_category_root_listing"
        + (
            " (root_id=? AND first_in_root=? AND is_active=? AND in_stock=?)"
            if "inStock" in query
            else " (root_id=? AND first_in_root=? AND is_active=?)"
        )
    ], plan
    assert found.pagination.total == (3 if "inStock" in query else 6)
