"""Each service's tables live on its own metadata: one service's migrations and `create_all` see only its
tables (and its copy of the kit's outbox), and two services may both name a table `products`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from apis.auth import models as auth
from apis.orders import models as orders
from apis.products import models as products
from apis.reviews import models as reviews
from apis.stats import models as stats
from kit import db
from kit.outbox import OutboxMessage

SERVICES = {"auth": auth, "orders": orders, "products": products, "stats": stats, "reviews": reviews}


def test_no_table_is_on_the_shared_sqlmodel_metadata() -> None:
    assert SQLModel.metadata.tables == {}


def test_two_services_share_no_table_object_only_names() -> None:
    for (_, one), (_, other) in itertools.combinations(SERVICES.items(), 2):
        ours, theirs = one.Base.metadata.tables, other.Base.metadata.tables
        assert not {id(t) for t in ours.values()} & {id(t) for t in theirs.values()}
        assert "outbox" in set(ours) & set(theirs)  # and `handled_events`, `customers` in some


def test_every_service_holds_a_copy_of_the_kit_outbox() -> None:
    kit_outbox = sa.inspect(OutboxMessage).local_table
    for models in SERVICES.values():
        copy = models.Base.metadata.tables["outbox"]
        assert copy is not kit_outbox
        assert [c.name for c in copy.columns] == [c.name for c in kit_outbox.columns]


def test_a_second_service_may_have_a_products_table() -> None:
    class Base(SQLModel, registry=db.service_registry()):
        pass

    class Listing(Base, table=True):
        __tablename__ = "products"

        id: str = Field(primary_key=True, max_length=36)

    assert "products" in orders.Base.metadata.tables
    assert Base.metadata.tables["products"] is not orders.Base.metadata.tables["products"]
    assert set(Base.metadata.tables) == {"products"}


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_metadata_names_exactly_the_tables_its_migrations_create(
    service: str, tmp_path: Path
) -> None:
    engine = db.open_engine(f"sqlite+aiosqlite:///{tmp_path}/{service}.db")
    try:
        await db.migrate(engine, Path(__file__).parents[2] / "apis" / service / "migrations")
        async with engine.connect() as connection:
            created = await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert created - {"alembic_version"} == set(SERVICES[service].Base.metadata.tables)
