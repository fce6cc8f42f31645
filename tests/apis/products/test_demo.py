"""The demo catalog: deterministic from its seed, realistic, made through the service layer, made once."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from apis.products import demo
from apis.products.demo_data import CATEGORIES
from apis.products.events import Notifier
from kit import db
from kit.settings import Settings
from tests.apis.products.conftest import Tokens
from tests.support import asgi_client

CATEGORY_IDS = {slug: str(uuid.uuid4()) for slug in CATEGORIES}


def test_a_product_is_the_same_for_the_same_seed_and_index() -> None:
    first = demo.demo_product(7, 42, CATEGORY_IDS)
    assert first == demo.demo_product(7, 42, CATEGORY_IDS)
    assert first.sku.endswith("-7-000042")
    assert demo.demo_product(8, 42, CATEGORY_IDS).sku != first.sku


def test_products_are_multilingual_on_leaves_with_one_to_four_variants() -> None:
    leaves = set(CATEGORIES) - {parent for _, parent in CATEGORIES.values()}
    for index in range(200):
        product = demo.demo_product(1, index, CATEGORY_IDS)
        assert set(product.name.model_dump(exclude_none=True)) == {"en", "fr", "ar"}
        assert 1 <= len(product.variants) <= 4
        assert all(v.price > 0 and v.attributes for v in product.variants)
        assert 1 <= len(product.images) <= 3
        assert product.images[0].is_primary
        [category] = product.category_ids
        slug = next(s for s, i in CATEGORY_IDS.items() if i == str(category))
        assert slug in leaves


async def test_generating_twice_adds_only_what_is_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="apis.products.demo")  # its progress lines must be loggable
    engine = db.open_engine(f"sqlite+aiosqlite:///{tmp_path}/products.db")
    try:
        await db.migrate(engine, Path(demo.__file__).parent / "migrations")
        sessions, notify = db.session_factory(engine), Notifier()
        first = await demo.generate_catalog(sessions, notify, products=30, seed=5, batch_size=7)
        again = await demo.generate_catalog(sessions, notify, products=40, seed=5)
    finally:
        await engine.dispose()
    assert (first.categories_created, first.products_created) == (len(CATEGORIES), 30)
    assert (again.categories_created, again.products_created, again.products_present) == (0, 10, 30)


async def test_the_service_generates_the_demo_catalog_on_its_first_start_only(settings: Settings) -> None:
    from apis.products.app import create_app

    configured = settings.model_copy(update={"demo_catalog": 12})
    tokens = Tokens(configured.jwt_issuer)
    admin = tokens.headers("admin")

    async def products_after_a_start() -> int:
        app = create_app(configured)
        app.state.token_verifier = tokens.verifier()
        async with asgi_client(app) as client:
            listed = await client.get("/?limit=1", headers=admin)
            reconcile = await client.get("/stock/reconcile", headers=admin)
            assert reconcile.json()["mismatches"] == []
            total: int = listed.json()["pagination"]["total"]
            if total:  # an admin empties the catalog: a restart must not refill it
                for page in range(total):
                    product = (await client.get("/?limit=1", headers=admin)).json()["data"][0]
                    assert (await client.delete(f"/{product['id']}", headers=admin)).status_code == 204, page
            return total

    assert await products_after_a_start() == 12
    assert await products_after_a_start() == 0
