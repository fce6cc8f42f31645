"""The reviews service on its own, on SQLite and PostgreSQL: one review per customer and product (also when
two posts race), a verified purchase only as the orders service says (503 and nothing written when it
cannot), bad input named, changes by the author only, deletes by the author or a moderator (not by any
customer, as the seed allowed), the products' figures published with growing versions, and a deleted
product's reviews gone from the listings.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from apis.reviews import handlers, routes
from apis.reviews.app import create_app
from apis.reviews.models import Review
from apis.reviews.service import Peers
from contracts import auth, products, reviews
from contracts.orders import PurchasesClient
from contracts.products import ProductsClient
from kit import db
from kit.bus import Event
from kit.errors import Unavailable
from kit.outbox import OutboxMessage
from kit.settings import Settings
from tests.apis.products.conftest import Tokens
from tests.support import BOTH_DATABASES, asgi_client, embedded_settings, scratch_databases

CUSTOMER = ("Customer", ("read:review", "write:review", "delete:review"))


class FakePurchases(PurchasesClient):
    """The orders service's answer: the (user, product) pairs delivered; `down` when it cannot answer."""

    def __init__(self) -> None:
        self.delivered: set[tuple[str, str]] = set()
        self.down = False
        self.asked = 0

    async def verified(self, user_id: str, product_id: str) -> bool:
        self.asked += 1
        if self.down:
            raise Unavailable("Service 'orders' is unreachable", code="UpstreamUnavailable")
        return (user_id, product_id) in self.delivered


class FakeCatalog(ProductsClient):
    """The catalog's public read: the products it shows (`shown`), or `down`."""

    def __init__(self) -> None:
        self.shown: dict[str, dict[str, Any]] = {}
        self.down = False

    async def copy_of(self, product_id: str) -> tuple[dict[str, Any], int | None] | None:
        if self.down:
            raise Unavailable("Service 'products' is unreachable", code="UpstreamUnavailable")
        document = self.shown.get(product_id)
        return None if document is None else (products.copy_fields(document), 1)


@dataclass
class World:
    client: httpx.AsyncClient
    settings: Settings
    tokens: Tokens
    purchases: FakePurchases
    catalog: FakeCatalog
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, name: str, role: str = "Customer", permissions: tuple[str, ...] = CUSTOMER[1]) -> Any:
        user_id = self.ids.setdefault(name, str(uuid.uuid4()))
        token = self.tokens.sign(user_id, role, permissions, email=f"{name}@example.com")
        return {"Authorization": f"Bearer {token}"}

    async def apply(self, *events: Event) -> None:
        """Events as the reviews service's consumer receives them."""
        engine = db.open_engine(self.settings.for_service("reviews").service_database_url)
        try:
            handle = handlers.once(db.session_factory(engine))
            for event in events:
                await handle(event)
        finally:
            await engine.dispose()

    async def product(self, version: int = 1) -> str:
        product_id = str(uuid.uuid4())
        await self.apply(product_event(products.PRODUCT_CREATED, product_id, version))
        return product_id

    async def published(self) -> list[dict[str, Any]]:
        """The REVIEW_UPDATED payloads in the outbox, in order."""
        engine = db.open_engine(self.settings.for_service("reviews").service_database_url)
        try:
            async with db.session_factory(engine)() as session:
                rows = await session.scalars(sa.select(OutboxMessage).order_by(sa.text("seq")))
                return [row.body["event"] for row in rows if row.kind == "event"]
        finally:
            await engine.dispose()

    async def stored(self) -> int:
        engine = db.open_engine(self.settings.for_service("reviews").service_database_url)
        try:
            async with db.session_factory(engine)() as session:
                return int(
                    (await session.execute(sa.select(sa.func.count()).select_from(Review))).scalar_one()
                )
        finally:
            await engine.dispose()

    async def post(self, name: str, product_id: str, **fields: Any) -> httpx.Response:
        body = {"productId": product_id, "rating": 4, "comment": "Comfortable", **fields}
        return await self.client.post("/", json=body, headers=self.headers(name))


def product_event(kind: str, product_id: str, version: int | None = 1, **document: Any) -> Event:
    payload = {
        "id": product_id,
        "sku": f"SKU-{product_id[:8]}",
        "name": {"en": "Trail shoe", "fr": "Chaussure"},
    }
    return Event(
        type=kind,
        payload=payload | document,
        source_service="products",
        topic=products.PRODUCT_EVENTS,
        key=product_id,
        version=version,
    )


@pytest.fixture(params=BOTH_DATABASES)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    async with contextlib.AsyncExitStack() as stack:
        overrides = {}
        if request.param == "postgres":
            overrides["database_url"] = await stack.enter_async_context(scratch_databases())
        yield await stack.enter_async_context(open_world(embedded_settings(tmp_path, **overrides)))


@contextlib.asynccontextmanager
async def open_world(settings: Settings) -> AsyncIterator[World]:
    app: FastAPI = create_app(settings)
    purchases, catalog = FakePurchases(), FakeCatalog()
    app.dependency_overrides[routes._peers] = lambda: Peers(purchases, catalog)  # answering as told
    tokens = Tokens(settings.jwt_issuer)
    async with asgi_client(app) as client:
        app.state.token_verifier = tokens.verifier()
        yield World(client, settings, tokens, purchases, catalog)


class TestWriting:
    async def test_a_delivered_purchase_makes_a_verified_review_shown_with_its_names(
        self, world: World
    ) -> None:
        product_id = await world.product()
        world.headers("ada")
        world.purchases.delivered.add((world.ids["ada"], product_id))
        response = await world.post("ada", product_id, title="  Great  ", rating=5)
        assert response.status_code == 201, response.text
        review = response.json()
        assert review["isVerifiedPurchase"] is True
        assert review["title"] == "Great"
        assert review["user"] == {"id": world.ids["ada"], "name": world.ids["ada"], "profileImage": None}
        assert review["product"]["name"] == "Trail shoe"
        listed = (await world.client.get(f"/product/{product_id}", headers={"accept-language": "fr"})).json()
        assert listed["pagination"]["total"] == 1
        assert listed["data"][0]["product"]["name"] == "Chaussure"

    async def test_without_a_delivered_order_the_review_is_not_verified(self, world: World) -> None:
        response = await world.post("bob", await world.product())
        assert response.status_code == 201, response.text
        assert response.json()["isVerifiedPurchase"] is False

    async def test_orders_unable_to_answer_is_a_503_and_nothing_is_written(self, world: World) -> None:
        world.purchases.down = True
        response = await world.post("ada", await world.product())
        assert response.status_code == 503
        assert response.json()["code"] == reviews.ORDERS_UNAVAILABLE
        assert await world.stored() == 0
        assert await world.published() == []

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"rating": 0}, "rating"),
            ({"rating": 6}, "rating"),
            ({"rating": "5"}, "rating"),
            ({"rating": 4.5}, "rating"),
            ({"rating": None}, "rating"),
            ({"comment": "   "}, "comment"),
            ({"comment": None}, "comment"),
            ({"productId": ""}, "productId"),
            ({"title": "x" * 201}, "title"),
        ],
    )
    async def test_bad_input_is_a_400_naming_the_field(
        self, world: World, fields: dict[str, Any], field: str
    ) -> None:
        response = await world.post("ada", "some-product", **fields)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["code"] == "ValidationError"
        assert field in [detail["field"] for detail in body["details"]]
        assert world.purchases.asked == 0

    async def test_an_unknown_product_is_a_404(self, world: World) -> None:
        response = await world.post("ada", str(uuid.uuid4()))
        assert response.status_code == 404
        assert response.json()["code"] == "ProductNotFound"

    async def test_a_product_not_copied_yet_is_read_from_the_catalog_then_kept_by_the_events(
        self, world: World
    ) -> None:
        product_id = str(uuid.uuid4())
        world.catalog.shown[product_id] = {
            "name": {"en": "Fresh boot"},
            "sku": "SKU-FRESH",
            "primaryImageUrl": None,
        }
        response = await world.post("ada", product_id)
        assert response.status_code == 201, response.text
        assert response.json()["product"] == {
            "id": product_id,
            "name": "Fresh boot",
            "sku": "SKU-FRESH",
            "imageUrl": None,
        }
        await world.apply(
            product_event(products.PRODUCT_UPDATED, product_id, 2, name={"en": "Fresh boot II"})
        )
        listed = (await world.client.get(f"/product/{product_id}")).json()
        assert listed["data"][0]["product"]["name"] == "Fresh boot II"

    async def test_a_catalog_unable_to_answer_is_a_503_and_nothing_is_written(self, world: World) -> None:
        world.catalog.down = True
        response = await world.post("ada", str(uuid.uuid4()))
        assert response.status_code == 503
        assert response.json()["code"] == reviews.CATALOG_UNAVAILABLE
        assert await world.stored() == 0
        assert world.purchases.asked == 0

    async def test_a_second_review_of_one_product_is_a_409(self, world: World) -> None:
        product_id = await world.product()
        assert (await world.post("ada", product_id)).status_code == 201
        again = await world.post("ada", product_id, rating=1)
        assert again.status_code == 409
        assert again.json()["code"] == reviews.REVIEW_EXISTS
        assert (await world.post("bob", product_id)).status_code == 201  # another customer may

    async def test_of_two_racing_posts_one_is_written_and_the_other_is_a_409(self, world: World) -> None:
        product_id = await world.product()
        answers = await asyncio.gather(*(world.post("ada", product_id, rating=r) for r in (2, 5)))
        assert sorted(a.status_code for a in answers) == [201, 409]
        assert await world.stored() == 1


class TestChanging:
    async def test_the_author_changes_a_review_and_the_rating_is_checked_again(self, world: World) -> None:
        product_id = await world.product()
        review = (await world.post("ada", product_id, title="Good")).json()
        bad = await world.client.put(f"/{review['id']}", json={"rating": 7}, headers=world.headers("ada"))
        assert bad.status_code == 400
        assert bad.json()["details"][0]["field"] == "rating"
        body = {"rating": 2, "comment": "Worn out fast"}
        changed = await world.client.put(f"/{review['id']}", json=body, headers=world.headers("ada"))
        assert changed.status_code == 200, changed.text
        assert (changed.json()["rating"], changed.json()["comment"], changed.json()["title"]) == (
            2,
            "Worn out fast",
            "Good",
        )

    async def test_another_customer_cannot_change_or_delete_a_review(self, world: World) -> None:
        review = (await world.post("ada", await world.product())).json()
        changed = await world.client.put(f"/{review['id']}", json={"rating": 1}, headers=world.headers("eve"))
        assert changed.status_code == 403
        assert changed.json()["code"] == reviews.NOT_YOUR_REVIEW
        deleted = await world.client.delete(f"/{review['id']}", headers=world.headers("eve"))
        assert deleted.status_code == 403
        assert deleted.json()["code"] == reviews.NOT_YOUR_REVIEW
        assert await world.stored() == 1

    async def test_the_author_and_a_moderator_delete_reviews(self, world: World) -> None:
        product_id = await world.product()
        own = (await world.post("ada", product_id)).json()
        other = (await world.post("bob", product_id)).json()
        assert (await world.client.delete(f"/{own['id']}", headers=world.headers("ada"))).status_code == 204
        moderator = world.headers("mod", "Supervisor", (reviews.MODERATE_REVIEW,))
        assert (await world.client.delete(f"/{other['id']}", headers=moderator)).status_code == 204
        assert (await world.client.delete(f"/{other['id']}", headers=moderator)).status_code == 404
        assert await world.stored() == 0

    @pytest.mark.parametrize(
        ("body", "field"), [({"rating": None}, "rating"), ({"comment": None}, "comment"), ({}, "body")]
    )
    async def test_a_change_names_what_is_wrong_with_it(
        self, world: World, body: dict[str, Any], field: str
    ) -> None:
        review = (await world.post("ada", await world.product())).json()
        answer = await world.client.put(f"/{review['id']}", json=body, headers=world.headers("ada"))
        assert answer.status_code == 400, answer.text
        assert [detail["field"] for detail in answer.json()["details"]] == [field]

    async def test_an_unknown_review_is_a_404(self, world: World) -> None:
        response = await world.client.put(
            f"/{uuid.uuid4()}", json={"rating": 3}, headers=world.headers("ada")
        )
        assert response.status_code == 404
        assert response.json()["code"] == reviews.REVIEW_NOT_FOUND


class TestFigures:
    async def test_each_write_publishes_the_product_s_figures_with_a_growing_version(
        self, world: World
    ) -> None:
        product_id = await world.product()
        first = (await world.post("ada", product_id, rating=5)).json()
        await world.post("bob", product_id, rating=2)
        await world.client.put(f"/{first['id']}", json={"rating": 4}, headers=world.headers("ada"))
        await world.client.put(
            f"/{first['id']}", json={"title": "No rating change"}, headers=world.headers("ada")
        )
        await world.client.delete(f"/{first['id']}", headers=world.headers("ada"))
        events = await world.published()
        assert {event["type"] for event in events} == {reviews.REVIEW_UPDATED}
        figures = [(e["payload"]["averageRating"], e["payload"]["reviewCount"]) for e in events]
        assert figures == [(5.0, 1), (3.5, 2), (3.0, 2), (2.0, 1)]  # a title alone moves no figure
        versions = [event["payload"]["version"] for event in events]
        assert versions == sorted(set(versions))
        assert [event["version"] for event in events] == versions
        assert all(event["payload"]["productId"] == product_id for event in events)


class TestCopies:
    async def test_a_deleted_product_s_reviews_leave_the_listings_for_good(self, world: World) -> None:
        product_id = await world.product(version=5)
        await world.post("ada", product_id)
        assert (await world.client.get("/", params={"productId": product_id})).json()["pagination"][
            "total"
        ] == 1
        await world.apply(
            product_event(products.PRODUCT_DELETED, product_id, None),
            product_event(products.PRODUCT_UPDATED, product_id, 6),  # late: changes nothing
        )
        for path in (f"/product/{product_id}", f"/?productId={product_id}", "/my-reviews"):
            answer = await world.client.get(path, headers=world.headers("ada"))
            assert answer.json()["data"] == [], path
        assert (await world.post("bob", product_id)).status_code == 404

    async def test_the_reviewer_s_name_follows_the_auth_events_in_version_order(self, world: World) -> None:
        product_id = await world.product()
        await world.post("ada", product_id)
        user_id = world.ids["ada"]

        def renamed(name: str, version: int) -> Event:
            payload = {"id": user_id, "name": name, "email": "ada@example.com"}
            return Event(
                type=auth.USER_UPDATED,
                payload=payload,
                source_service="auth",
                topic=auth.AUTH_EVENTS,
                key=user_id,
                version=version,
            )

        await world.apply(renamed("Ada Lovelace", 20), renamed("Ada L.", 10))
        listed = (await world.client.get(f"/product/{product_id}")).json()
        assert listed["data"][0]["user"]["name"] == "Ada Lovelace"

    async def test_the_filters_and_the_caller_s_own_list(self, world: World) -> None:
        one, two = await world.product(), await world.product()
        await world.post("ada", one, rating=5)
        await world.post("ada", two, rating=1)
        await world.post("bob", one, rating=1)

        def total(answer: httpx.Response) -> int:
            return int(answer.json()["pagination"]["total"])

        assert total(await world.client.get("/", params={"rating": 1})) == 2
        assert total(await world.client.get("/", params={"userId": world.ids["ada"], "rating": 5})) == 1
        assert total(await world.client.get("/my-reviews", headers=world.headers("ada"))) == 2
        assert (await world.client.get("/", params={"rating": 6})).status_code == 400
        page = (await world.client.get(f"/product/{one}", params={"limit": 1})).json()
        assert page["pagination"] == {"total": 2, "page": 1, "limit": 1, "totalPages": 2}
        assert page["data"][0]["user"]["id"] == world.ids["bob"]  # the newest first
