"""The demo catalog: `commerce seed catalog --products N [--seed S]`, and on `commerce dev`'s first start.

Deterministic: product `i` of seed `S` is drawn from its own random stream, so it is the same whatever `N`
and the batch size (the first thousand products of a 100k catalog are the 1k catalog). Everything goes
through the service layer (categories.create_category, catalog.insert_products: the same checks and
notifications as the API), in batches of a thousand products per transaction. Running it again adds only
what is missing (categories by slug, products by SKU).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from apis.products.demo_data import AXES, CATEGORIES, COLORS, KINDS, QUALITIES, SERIES, Kind, describe
from apis.products.events import Notifier
from apis.products.models import Category, DemoCatalog, Product
from apis.products.schemas.categories import CategoryCreate
from apis.products.schemas.products import (
    ImageCreate,
    LocalisedDescription,
    LocalisedName,
    ProductCreate,
    VariantCreate,
)
from apis.products.service import catalog, categories
from kit import db
from kit.settings import Settings

log = logging.getLogger(__name__)
LEAVES = sorted(KINDS)


@dataclass(frozen=True)
class CatalogReport:
    categories_created: int
    products_created: int
    products_present: int
    seconds: float


def _texts(texts: tuple[str, str, str]) -> dict[str, str]:
    return dict(zip(("en", "fr", "ar"), texts, strict=True))


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) - Decimal("0.01")


def _variants(rng: random.Random, kind: Kind, base: Decimal) -> list[VariantCreate]:
    combos: list[dict[str, str]] = []
    for _ in range(rng.randint(1, 4)):
        attributes: dict[str, str] = {}
        for axis in kind.axes:
            if axis == "Color":
                name, hex_code = rng.choice(COLORS)
                attributes |= {"Color": name, "colorHex": hex_code}
            else:
                attributes[axis] = rng.choice(AXES[axis])
        if attributes not in combos:
            combos.append(attributes)
    return [
        VariantCreate(
            attributes=attributes,
            price=(base * (1 + Decimal("0.15") * _steps(kind, attributes))).quantize(Decimal("0.01")),
            cost_price=(base * Decimal(rng.randint(45, 75)) / 100).quantize(Decimal("0.01")),
            low_stock_threshold=rng.randint(3, 20),
            initial_stock_quantity=0 if rng.random() < 0.12 else rng.randint(1, 500),
        )
        for attributes in combos
    ]


def _steps(kind: Kind, attributes: dict[str, str]) -> int:
    return sum(AXES[axis].index(attributes[axis]) for axis in kind.axes if axis in AXES)


def demo_product(seed: int, index: int, category_ids: dict[str, str]) -> ProductCreate:
    """Product `index` of the catalog of `seed`: always the same one."""
    rng = random.Random(f"commerce-demo-{seed}-{index}")
    leaf = rng.choice(LEAVES)
    kind = rng.choice(KINDS[leaf])
    brand = rng.choice(kind.brands)
    model = f"{rng.choice(SERIES)} {rng.randint(2, 99)}"
    first, second = rng.sample(QUALITIES, 2)
    code = "".join(c for c in brand if c.isascii() and c.isalnum())[:4].upper()
    sku = f"{code}-{kind.code}-{seed}-{index:06d}"
    name = (
        f"{brand} {kind.noun[0]} {model}",
        f"{kind.noun[1]} {brand} {model}",
        f"{kind.noun[2]} {brand} {model}",
    )
    images = [
        ImageCreate(
            image_url=f"https://picsum.photos/seed/{sku.lower()}-{n}/800/800",
            alt_text=name[0],
            is_primary=n == 0,
            order=n,
        )
        for n in range(rng.randint(1, 3))
    ]
    return ProductCreate(
        sku=sku,
        name=LocalisedName.model_validate(_texts(name)),
        description=LocalisedDescription.model_validate(
            _texts(describe(brand, kind.noun, model, first, second))
        ),
        is_active=rng.random() >= 0.03,
        variants=_variants(rng, kind, _price(rng, *kind.prices)),
        category_ids=[uuid.UUID(category_ids[leaf])],
        images=images,
    )


async def ensure_categories(
    sessions: async_sessionmaker[AsyncSession], notify: Notifier
) -> tuple[dict[str, str], int]:
    """The taxonomy's categories by slug, creating those missing (roots first); and how many were created."""
    created = 0
    async with sessions() as session:
        known = dict((await session.execute(sa.select(col(Category.slug), col(Category.id)))).all())
    for slug, (names, parent) in CATEGORIES.items():  # parents come before their children
        if slug in known:
            continue
        data = CategoryCreate(
            name=LocalisedName.model_validate(_texts(names)),
            slug=slug,
            parent_id=uuid.UUID(known[parent]) if parent else None,
            image_url=f"https://picsum.photos/seed/category-{slug}/600/400",
        )
        async with sessions() as session:
            known[slug] = (await categories.create_category(session, notify, data)).id
        created += 1
    return known, created


async def generate_catalog(
    sessions: async_sessionmaker[AsyncSession],
    notify: Notifier,
    *,
    products: int,
    seed: int = 1,
    batch_size: int = 1000,
) -> CatalogReport:
    """Make sure the catalog of `seed` holds its first `products` products."""
    started = time.perf_counter()
    category_ids, categories_created = await ensure_categories(sessions, notify)
    created = present = 0
    for first in range(0, products, batch_size):
        drafts = [
            demo_product(seed, i, category_ids) for i in range(first, min(first + batch_size, products))
        ]
        async with sessions() as session:
            taken = set(
                (
                    await session.scalars(
                        sa.select(col(Product.sku)).where(col(Product.sku).in_([d.sku for d in drafts]))
                    )
                ).all()
            )
            fresh = [d for d in drafts if d.sku not in taken]
            if fresh:
                await catalog.insert_products(session, notify, fresh)
                await db.commit(session)
        created, present = created + len(fresh), present + len(taken)
        log.info("demo catalog batch", extra={"productsCreated": created, "productsWanted": products})
    if created:
        async with sessions() as session:
            await session.execute(sa.text("ANALYZE"))  # fresh statistics: the planner now knows the sizes
            await db.commit(session)
    return CatalogReport(categories_created, created, present, round(time.perf_counter() - started, 2))


async def seed_on_first_start(
    sessions: async_sessionmaker[AsyncSession], notify: Notifier, *, products: int, seed: int = 1
) -> CatalogReport | None:
    """Generate the demo catalog unless it was generated before or the catalog already has products."""
    async with sessions() as session:
        if await session.get(DemoCatalog, 1) is not None:
            return None
        has_products = await session.scalar(sa.select(col(Product.id)).limit(1)) is not None
        session.add(DemoCatalog(seed=seed, products=0 if has_products else products))
        try:
            await db.commit(session)  # the marker first: a concurrent or later start backs off
        except IntegrityError:
            return None
    if has_products:
        return None
    try:
        report = await generate_catalog(sessions, notify, products=products, seed=seed)
    except BaseException:
        async with sessions() as session:  # let the next start try again (what was made is kept)
            await session.execute(sa.delete(DemoCatalog))
            await db.commit(session)
        raise
    done = {"productsCreated": report.products_created, "seconds": report.seconds}
    log.info("demo catalog generated", extra=done)
    return report


async def seed_catalog(settings: Settings, migrations: Path, *, products: int, seed: int) -> CatalogReport:
    """`commerce seed catalog`: generate into the products database; the service announces it when it runs."""
    settings = settings.for_service("products")
    engine = db.open_engine(settings.service_database_url)
    try:
        if settings.auto_migrate:
            await db.migrate(engine, migrations)
        return await generate_catalog(
            db.session_factory(engine), Notifier.from_settings(settings), products=products, seed=seed
        )
    finally:
        await engine.dispose()
