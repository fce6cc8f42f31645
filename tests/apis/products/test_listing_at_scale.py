"""The listing at scale (issue 16): a product's `min_price` and `in_stock` follow every write of its variants
and stock, concurrent ones included, and the hot queries read the listing's indexes in order (SQLite's plans
here; bench/products_read.py measures both databases and prints their plans).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.products import listing
from apis.products.app import MIGRATIONS
from apis.products.schemas.products import ProductQuery
from kit import db
from kit.settings import Settings
from tests.apis.products.conftest import ON_BOTH_DATABASES, Shop, unique

DRIFT = """
SELECT count(*) FROM product
 WHERE min_price IS NOT (SELECT min(price) FROM variant WHERE variant.product_id = product.id)
    OR in_stock != EXISTS (SELECT 1 FROM variant WHERE variant.product_id = product.id AND stock_quantity > 0)
"""


async def drift(engine: AsyncEngine) -> int:
    """Products whose listing columns disagree with their variants (there should never be one)."""
    statement = DRIFT if engine.dialect.name == "sqlite" else DRIFT.replace("IS NOT", "IS DISTINCT FROM")
    async with engine.connect() as connection:
        return int(await connection.scalar(sa.text(statement)) or 0)


async def listed(shop: Shop, query: str) -> list[str]:
    response = await shop.call("GET", f"/?limit=100&{query}", as_=None)
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["data"]]


def variant(price: str, stock: int) -> dict[str, Any]:
    return {"attributes": {"Size": unique("S")}, "price": price, "initialStockQuantity": stock}


@ON_BOTH_DATABASES
async def test_price_and_stock_follow_every_write_of_variants_and_stock(
    shop: Shop, engine: AsyncEngine
) -> None:
    cheap = await shop.product(variants=[variant("30.00", 0), variant("20.00", 1)])
    dear = await shop.product(variants=[variant("25.00", 5)])
    sold = cheap["variants"][1]["id"]
    assert await listed(shop, "sortBy=price&sortOrder=asc") == [cheap["id"], dear["id"]]
    assert (await shop.adjust(sold, -1, type="ORDER", relatedOrderId="order-1")).status_code == 201
    assert await listed(shop, "inStock=true") == [dear["id"]]
    assert (await shop.adjust(sold, 1, type="ORDER_CANCELLED", relatedOrderId="order-1")).status_code == 201
    assert set(await listed(shop, "inStock=true")) == {cheap["id"], dear["id"]}
    path = f"/{cheap['id']}/variants"
    assert (await shop.call("PUT", f"{path}/{sold}", json={"price": "40.00"})).status_code == 200
    assert await listed(shop, "sortBy=price&sortOrder=asc") == [dear["id"], cheap["id"]]
    added = await shop.call("POST", path, json=variant("5.00", 0))
    assert added.status_code == 201, added.text
    assert await listed(shop, "sortBy=price&sortOrder=asc") == [cheap["id"], dear["id"]]
    assert (await shop.call("DELETE", f"{path}/{added.json()['id']}")).status_code == 204
    assert await listed(shop, "sortBy=price&sortOrder=desc") == [cheap["id"], dear["id"]]  # 30 > 25
    assert await listed(shop, "sortBy=price&sortOrder=desc&minPrice=39&maxPrice=41&inStock=true") == [
        cheap["id"]
    ]
    assert await drift(engine) == 0


@ON_BOTH_DATABASES
async def test_concurrent_sales_of_a_products_last_units_leave_it_out_of_stock(
    shop: Shop, engine: AsyncEngine
) -> None:
    """Each sale sees the others' quantities (the product's row is locked first on PostgreSQL)."""
    product = await shop.product(variants=[variant("10.00", 1) for _ in range(6)])
    token = shop.tokens.headers("service")
    responses = await asyncio.gather(
        *(
            shop.client.post(
                f"/stock/adjust/{v['id']}", headers=token, json={"changeQuantity": -1, "type": "ADJUSTMENT"}
            )
            for v in product["variants"]
        )
    )
    assert [r.status_code for r in responses] == [201] * 6
    assert await listed(shop, "inStock=true") == []
    assert await listed(shop, "inStock=false") == [product["id"]]
    assert await drift(engine) == 0


@ON_BOTH_DATABASES
async def test_the_migration_fills_the_listing_columns_of_an_existing_catalog(
    products_settings: Settings,
) -> None:
    engine = db.open_engine(products_settings.for_service("products").service_database_url)
    try:
        await db.migrate(engine, MIGRATIONS, "0004")
        async with engine.begin() as connection:
            for sku, prices in (("A", [("9.50", 0), ("7.25", 3)]), ("B", [("4.00", 0)]), ("C", [])):
                await connection.execute(
                    sa.text(
                        "INSERT INTO product (id, sku, name, is_active, average_rating, review_count,"
                        " created_at, updated_at)"
                        " VALUES (:sku, :sku, '{}', true, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"sku": sku},
                )
                for n, (price, stock) in enumerate(prices):
                    await connection.execute(
                        sa.text(
                            "INSERT INTO variant (id, product_id, attributes, price, stock_quantity,"
                            " created_at, updated_at)"
                            " VALUES (:id, :sku, '{}', :price, :stock, CURRENT_TIMESTAMP,"
                            " CURRENT_TIMESTAMP)"
                        ).bindparams(sa.bindparam("price", type_=sa.Numeric(12, 2))),
                        {"id": f"{sku}{n}", "sku": sku, "price": Decimal(price), "stock": stock},
                    )
        await db.migrate(engine, MIGRATIONS)
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text("SELECT id, min_price, in_stock FROM product ORDER BY id")
            )
            found = [(i, None if p is None else Decimal(str(p)), bool(s)) for i, p, s in rows]
        assert found == [("A", Decimal("7.25"), True), ("B", Decimal("4.00"), False), ("C", None, False)]
    finally:
        await engine.dispose()


HOT_QUERIES = [
    "sortBy=price&sortOrder=asc&inStock=true&categorySlug={root}",
    "sortBy=price&sortOrder=desc&inStock=true",
    "sortBy=price&sortOrder=asc&minPrice=5&maxPrice=50",
    "categorySlug={root}&page=3",
    "page=4&limit=12",
]


@pytest.mark.parametrize("query", HOT_QUERIES)
async def test_the_hot_queries_read_the_listing_indexes_in_order(
    shop: Shop, engine: AsyncEngine, query: str
) -> None:
    """On SQLite: no page sorted in a temporary b-tree, and no table scanned whole."""
    root = await shop.category()
    leaves = [(await shop.category(parent=root["id"]))["id"] for _ in range(2)]
    for n in range(30):
        await shop.product(categories=[leaves[n % 2]], variants=[variant(f"{n + 1}.00", n % 3)])
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
    arguments = dict(pair.split("=") for pair in query.format(root=root["slug"]).split("&"))
    async with db.session_factory(engine)() as session:
        await listing.list_products(session, ProductQuery.model_validate(arguments), "en", staff=False)
        sa.event.remove(engine.sync_engine, "before_cursor_execute", capture)
        counted = next(c for c in captured if c[0].startswith("SELECT count(*)"))
        paged = next(c for c in captured if "ORDER BY" in c[0])
        for statement, parameters in (counted, paged):
            connection = await session.connection()
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            details = [row[-1] for row in plan]
            assert not [d for d in details if d.startswith("SCAN ")], (statement, details)
            assert "USE TEMP B-TREE FOR ORDER BY" not in details, (statement, details)


SORTS = ["createdAt", "updatedAt", "sku", "name", "price", "averageRating", "reviewCount"]


@ON_BOTH_DATABASES
async def test_cursors_walk_every_sort_exactly_as_pages_do(shop: Shop) -> None:
    """Ties (one bulk: one createdAt; equal prices) and a product without variants (no price) included."""
    drafts = [
        {
            "sku": unique("SKU-"),
            "name": {"en": f"Lamp {n % 3}"},
            "variants": [variant(f"{n % 4}.50", n % 2)] if n % 5 else [],
        }
        for n in range(11)
    ]
    assert (await shop.call("POST", "/bulk", json=drafts)).status_code == 201
    for sort in SORTS:
        for order in ("asc", "desc"):
            query = f"sortBy={sort}&sortOrder={order}&limit=3"
            by_pages = [
                [p["id"] for p in (await shop.call("GET", f"/?{query}&page={n}", as_=None)).json()["data"]]
                for n in range(1, 5)
            ]
            walked, cursor, pages = [], None, []
            while True:
                after = f"&cursor={cursor}" if cursor else ""
                body = (await shop.call("GET", f"/?{query}{after}", as_=None)).json()
                walked.append([p["id"] for p in body["data"]])
                pages.append(body["pagination"]["page"])
                if (cursor := body["nextCursor"]) is None:
                    break
            assert walked == by_pages, (sort, order)
            assert pages == [1, 2, 3, 4]


NOT_A_CURSOR = "cursor: not a cursor of this listing (use the nextCursor of a page)"


@pytest.mark.parametrize(
    ("cursor", "extra", "message"),
    [
        ("not-a-cursor", "", NOT_A_CURSOR),
        ("WyJza3UiLCJhc2MiLCJBIiwiaWQiLDFd", "", "cursor: made for another sortBy or sortOrder"),
        ("WyJwcmljZSIsImRlc2MiLHt9LCJpZCIsMV0", "", NOT_A_CURSOR),
        ("WyJwcmljZSIsImRlc2MiLCJOYU4iLCJpZCIsMV0", "", NOT_A_CURSOR),
        ("WyJwcmljZSIsImRlc2MiLCIxLjUwIiwiaWQiLDFd", "&page=2", "cursor: give a page or a cursor, not both"),
    ],
)
async def test_a_bad_cursor_is_a_400_naming_it(shop: Shop, cursor: str, extra: str, message: str) -> None:
    response = await shop.call("GET", f"/?sortBy=price&sortOrder=desc&cursor={cursor}{extra}", as_=None)
    assert response.status_code == 400
    assert response.json()["message"] == message
