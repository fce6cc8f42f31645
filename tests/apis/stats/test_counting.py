"""The statistics read model: each customer and each order counts once (a redelivered event, the same fact
under a new event id), cash orders count as card orders do, a cancelled order is taken back out, dates are
the events' own, and a rebuild from the topics ends with the same figures. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apis.stats import handlers, reads, rebuild
from apis.stats.app import MIGRATIONS
from contracts import auth, orders
from kit import db
from kit.bus import Event, open_bus
from tests.support import BOTH_DATABASES, scratch_engine

TODAY = date(2026, 6, 15)


@pytest.fixture(params=BOTH_DATABASES)
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with scratch_engine(request.param, tmp_path, MIGRATIONS) as engine:
        yield db.session_factory(engine)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def customer(user_id: str, day: date = TODAY) -> Event:
    return Event(
        type=auth.USER_CREATED,
        payload={"id": user_id, "name": user_id, "email": f"{user_id}@example.com"},
        timestamp=at(day),
        source_service="auth",
        topic=auth.AUTH_EVENTS,
        key=user_id,
    )


def order_event(kind: str, order_id: str, day: date = TODAY, **order: Any) -> Event:
    items = [
        {
            "variantId": "v-lamp",
            "productId": "p-lamp",
            "productName": "Lamp",
            "productNames": {"en": "Lamp", "fr": "Lampe"},
            "variantAttributes": {"Color": "Black"},
            "priceAtTimeOfOrder": "25.00",
            "costPriceAtTimeOfOrder": "10.00",
            "quantity": 2,
        },
        {
            "variantId": "v-mug",
            "productId": "p-mug",
            "productName": "Mug",
            "variantAttributes": {},
            "priceAtTimeOfOrder": "5.50",
            "costPriceAtTimeOfOrder": None,
            "quantity": 1,
        },
    ]
    payload = {"id": order_id, "status": "PAID", "totalAmount": "55.50", "items": items, **order}
    return Event(
        type=kind,
        payload=payload,
        timestamp=at(day),
        source_service="orders",
        topic=orders.ORDER_EVENTS,
        key=order_id,
    )


async def figures(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessions() as session:
        return {
            "kpis": (await reads.kpis(session, TODAY)).model_dump(mode="json", by_alias=True),
            "series": [
                m.model_dump(mode="json", by_alias=True) for m in await reads.time_series(session, TODAY)
            ],
            "top": [
                t.model_dump(mode="json", by_alias=True) for t in await reads.top_selling(session, 5, "fr")
            ],
        }


async def test_a_paid_order_counts_once_when_delivered_twice_or_published_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    paid = order_event(orders.ORDER_CREATED, "o1")
    await handle(paid)
    await handle(paid)  # redelivered
    await handle(order_event(orders.ORDER_CREATED, "o1"))  # the same order under a new event id
    kpis = (await figures(sessions))["kpis"]
    assert kpis["orders"] == {"value": 1, "change": "100.00"}
    assert kpis["revenue"] == {"value": "55.50", "change": "100.00"}
    top = (await figures(sessions))["top"]
    assert top == [
        {"name": "Lampe", "attributes": {"Color": "Black"}, "quantity": 2, "amount": "50.00"},
        {"name": "Mug", "attributes": {}, "quantity": 1, "amount": "5.50"},
    ]


async def test_a_cash_order_counts_as_a_card_order_does(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The seed counted ORDER_PAID only: a cash-on-delivery order (CONFIRMED) never reached its figures."""
    handle = handlers.once(sessions)
    await handle(order_event(orders.ORDER_CREATED, "card", status="PAID", paymentMethod="CREDIT_CARD"))
    await handle(
        order_event(orders.ORDER_CREATED, "cash", status="CONFIRMED", paymentMethod="CASH_ON_DELIVERY")
    )
    kpis = (await figures(sessions))["kpis"]
    assert kpis["orders"]["value"] == 2
    assert kpis["revenue"]["value"] == "111.00"


async def test_a_cancelled_order_is_taken_back_out_once_and_a_late_confirmation_never_counts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    await handle(order_event(orders.ORDER_CREATED, "o1", TODAY - timedelta(days=40)))
    await handle(order_event(orders.ORDER_CREATED, "o2"))
    await handle(order_event(orders.ORDER_CANCELLED, "o1"))
    await handle(order_event(orders.ORDER_CANCELLED, "o1"))  # the same fact again, new id
    await handle(order_event(orders.ORDER_FAILED, "o3"))  # failed before it counted...
    await handle(order_event(orders.ORDER_CREATED, "o3"))  # ...so a late confirmation is not counted
    result = await figures(sessions)
    assert result["kpis"]["orders"] == {"value": 1, "change": "100.00"}
    assert result["kpis"]["revenue"]["value"] == "55.50"
    assert [t["quantity"] for t in result["top"]] == [2, 1]
    may = next(m for m in result["series"] if m["name"] == "May")
    assert may["revenueThisYear"] == "0.00"


async def test_customers_count_once_on_their_event_day_and_changes_compare_30_days(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    for user_id, days_ago in (("a", 0), ("b", 29), ("c", 30), ("d", 31), ("e", 100)):
        await handle(customer(user_id, TODAY - timedelta(days=days_ago)))
    await handle(customer("a"))  # a new event id for the same user
    await handle(order_event(orders.ORDER_CREATED, "now", TODAY - timedelta(days=3), totalAmount="30.00"))
    await handle(order_event(orders.ORDER_CREATED, "then", TODAY - timedelta(days=45), totalAmount="20.00"))
    kpis = (await figures(sessions))["kpis"]
    assert kpis["customers"] == {"value": 5, "change": "0.00"}  # 2 in the last 30 days, 2 in the 30 before
    assert kpis["orders"] == {"value": 2, "change": "0.00"}
    assert kpis["revenue"] == {"value": "50.00", "change": "50.00"}
    assert kpis["growth"] == {"value": "50.00"}


async def test_the_time_series_holds_12_months_ending_this_one_with_last_year_beside(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    await handle(order_event(orders.ORDER_CREATED, "this-june", date(2026, 6, 1)))
    await handle(order_event(orders.ORDER_CREATED, "last-july", date(2025, 7, 31), totalAmount="10.00"))
    await handle(order_event(orders.ORDER_CREATED, "july-before", date(2024, 7, 2), totalAmount="7.00"))
    series = (await figures(sessions))["series"]
    assert [m["name"] for m in series] == [
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
    ]
    assert series[0] == {
        "name": "Jul",
        "expenses": "20.00",
        "revenueThisYear": "10.00",
        "revenueLastYear": "7.00",
    }
    assert series[-1] == {
        "name": "Jun",
        "expenses": "20.00",
        "revenueThisYear": "55.50",
        "revenueLastYear": "0.00",
    }


async def test_a_rebuild_from_the_topics_ends_with_the_live_figures(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    events = [
        customer("a"),
        customer("b", TODAY - timedelta(days=35)),
        order_event(orders.ORDER_CREATED, "o1", TODAY - timedelta(days=2)),
        order_event(orders.ORDER_CREATED, "o2", TODAY - timedelta(days=50), status="CONFIRMED"),
        order_event(orders.ORDER_CANCELLED, "o2"),
        order_event(orders.ORDER_CREATED, "o3"),
    ]
    handle = handlers.once(sessions)
    async with open_bus(f"memory://{uuid.uuid4().hex}") as bus:
        for event in events:
            await bus.publish(event)
            await handle(event)
        await handle(events[2])  # redelivered
        live = await figures(sessions)
        rebuilt = await rebuild.rebuild(sessions, bus)
        assert await figures(sessions) == live
        assert (rebuilt.events, rebuilt.applied, rebuilt.customers, rebuilt.orders) == (6, 6, 2, 2)
        await handle(events[3])  # the live consumer behind the rebuild: already counted
    assert await figures(sessions) == live


def completed_return(
    return_id: str, refund: str | None, day: date = TODAY, variant: str = "v-lamp", price: str = "25.00"
) -> Event:
    """One unit of `variant` (at `price`) returned and completed."""
    items = [{"quantity": 1, "orderItem": {"variantId": variant, "priceAtTimeOfOrder": price}}]
    return Event(
        type=orders.RETURN_REQUEST_COMPLETED,
        payload={
            "id": return_id,
            "orderId": "o1",
            "status": "COMPLETED",
            "refundAmount": refund,
            "items": items,
        },
        timestamp=at(day),
        source_service="orders",
        topic=orders.ORDER_EVENTS,
        key=return_id,
    )


async def test_a_completed_return_takes_its_refund_out_of_its_days_revenue_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handle = handlers.once(sessions)
    await handle(order_event(orders.ORDER_CREATED, "o1", TODAY - timedelta(days=40)))
    done = completed_return("r1", "25.00")
    await handle(done)
    await handle(done)  # redelivered
    await handle(completed_return("r1", "25.00"))  # the same completion again (a repeated PUT)
    await handle(completed_return("r2", None, variant="v-mug", price="5.50"))  # cash: nothing refunded
    kpis = (await figures(sessions))["kpis"]
    assert kpis["revenue"]["value"] == "30.50"  # 55.50 sold, 25.00 refunded
    assert kpis["orders"]["value"] == 1  # the order stands: a return refunds, it does not cancel
    async with sessions() as session:
        [day] = [d for d in await reads.time_series(session, TODAY) if d.name == "Jun"]
        [sold] = [d for d in await reads.time_series(session, TODAY) if d.name == "May"]
    assert (sold.revenue_this_year, day.revenue_this_year) == (Decimal("55.50"), Decimal("-25.00"))
    top = (await figures(sessions))["top"]
    # one lamp back and refunded; the mug back unrefunded, so it sold nothing that stands and leaves the list
    assert top == [{"name": "Lampe", "attributes": {"Color": "Black"}, "quantity": 1, "amount": "25.00"}]


async def test_a_rebuild_takes_each_completed_return_out_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    events = [
        order_event(orders.ORDER_CREATED, "o1"),
        completed_return("r1", "25.00"),
        completed_return("r1", "25.00"),
    ]
    handle = handlers.once(sessions)
    async with open_bus(f"memory://{uuid.uuid4().hex}") as bus:
        for event in events:
            await bus.publish(event)
            await handle(event)
        live = await figures(sessions)
        assert live["kpis"]["revenue"]["value"] == "30.50"
        assert [t["quantity"] for t in live["top"]] == [1, 1]
        await rebuild.rebuild(sessions, bus)
        assert await figures(sessions) == live
