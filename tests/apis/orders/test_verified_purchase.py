"""The orders service answers the reviews service whether a customer received a product: only a delivered
order of theirs holding it counts (not one still on its way, not someone else's).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from apis.orders import reads
from apis.orders.app import MIGRATIONS
from apis.orders.models import Order, OrderItem
from contracts.orders import OrderStatus, PaymentMethod
from kit import db
from tests.support import BOTH_DATABASES, scratch_engine


@pytest.fixture(params=BOTH_DATABASES)
async def session(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncSession]:
    async with (
        scratch_engine(request.param, tmp_path, MIGRATIONS) as engine,
        db.session_factory(engine)() as s,
    ):
        yield s


async def order(session: AsyncSession, user_id: str, product_id: str, status: OrderStatus) -> None:
    placed = Order(
        user_id=user_id,
        phone="0612345678",
        status=status,
        payment_method=PaymentMethod.CASH_ON_DELIVERY,
        shipping_address={"city": "Lyon"},
        total_amount=Decimal("25.00"),
        display_total_amount=Decimal("25.00"),
        idempotency_key=str(uuid.uuid4()),
    )
    session.add(placed)
    await session.flush()
    line = OrderItem(
        order_id=placed.id,
        product_id=product_id,
        variant_id=str(uuid.uuid4()),
        product_name={"en": "Shoe"},
        variant_attributes={},
        sku="SKU-1",
        price_at_time_of_order=Decimal("25.00"),
        quantity=1,
    )
    session.add(line)
    await session.commit()


async def test_only_a_delivered_order_of_the_customer_holding_the_product_verifies(
    session: AsyncSession,
) -> None:
    ada, bob, shoe, lamp = "ada", "bob", "p-shoe", "p-lamp"
    await order(session, ada, shoe, OrderStatus.SHIPPED)
    await order(session, bob, lamp, OrderStatus.DELIVERED)
    assert not await reads.delivered_to(session, ada, shoe)  # on its way
    assert not await reads.delivered_to(session, ada, lamp)  # someone else's
    await order(session, ada, shoe, OrderStatus.DELIVERED)
    assert await reads.delivered_to(session, ada, shoe)
    assert await reads.delivered_to(session, bob, lamp)
