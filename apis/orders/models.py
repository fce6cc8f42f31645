"""The orders database: orders, their items and returns, copies of users and products, handled events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from contracts.orders import CommentRole, OrderStatus, PaymentMethod, ReturnStatus
from kit.db import UTCDateTime, new_id, now, service_registry
from kit.outbox import OutboxMessage


class Base(SQLModel, registry=service_registry(OutboxMessage)):
    """The orders service's tables: a metadata of their own, with a copy of the kit's outbox."""


Money = sa.Numeric(12, 2)


class Order(Base, table=True):
    __tablename__ = "orders"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str | None = Field(default=None, index=True, max_length=100)
    guest_email: str | None = Field(default=None, index=True, max_length=320)
    guest_name: str | None = Field(default=None, max_length=200)
    guest_token_hash: str | None = Field(default=None, unique=True, max_length=64)
    phone: str = Field(max_length=40)
    status: OrderStatus = Field(default=OrderStatus.PENDING, sa_type=sa.String(16), index=True)
    payment_method: PaymentMethod = Field(sa_type=sa.String(24))
    shipping_address: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    total_amount: Decimal = Field(sa_type=Money)
    # the currency the customer ordered in (`X-Currency`), the rate fetched when the order was accepted and
    # the total in it; `total_amount` stays the base amount, the one charged
    display_currency: str = Field(default="USD", max_length=3)
    exchange_rate_at_purchase: Decimal = Field(default=Decimal(1), sa_type=sa.Numeric(12, 6))
    display_total_amount: Decimal = Field(sa_type=Money)
    payment_transaction_id: str | None = Field(default=None, max_length=100)
    failure_reason: str | None = Field(default=None, max_length=500)
    failure_code: str | None = Field(default=None, max_length=64)
    failure_details: list[Any] | None = Field(default=None, sa_column=Column(JSON))
    parked_compensations: list[Any] | None = Field(default=None, sa_column=Column(JSON))
    cart_id: str | None = Field(default=None, max_length=36)
    # the request's Accept-Language: a guest's mails (a registered customer's follow their own language)
    language: str | None = Field(default=None, max_length=8)
    idempotency_key: str = Field(unique=True, max_length=300)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class OrderItem(Base, table=True):
    __tablename__ = "order_items"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, ondelete="CASCADE", max_length=36)
    product_id: str = Field(index=True, max_length=100)
    variant_id: str = Field(index=True, max_length=100)
    product_name: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    variant_attributes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sku: str = Field(max_length=200)
    image_url: str | None = Field(default=None, max_length=1000)
    price_at_time_of_order: Decimal = Field(sa_type=Money)
    # in the order's display currency, at its recorded rate (None: a line placed before migration 0007)
    display_price_at_time_of_order: Decimal | None = Field(default=None, sa_type=Money)
    cost_price_at_time_of_order: Decimal | None = Field(default=None, sa_type=Money)
    quantity: int


class OrderStatusChange(Base, table=True):
    """One move of an order's status, written with the move itself: the order's side of its timeline."""

    __tablename__ = "order_status_changes"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, ondelete="CASCADE", max_length=36)
    previous: OrderStatus = Field(sa_type=sa.String(16))
    status: OrderStatus = Field(sa_type=sa.String(16))
    reason: str | None = Field(default=None, max_length=500)
    at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class ReturnRequest(Base, table=True):
    """A customer's return of some units of a delivered order; `settled_at` is set by its workflow once the
    units are restocked and the refund made.
    """

    __tablename__ = "return_requests"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, ondelete="CASCADE", max_length=36)
    reason: str = Field(max_length=1000)
    status: ReturnStatus = Field(default=ReturnStatus.PENDING_APPROVAL, sa_type=sa.String(32), index=True)
    admin_comments: str | None = Field(default=None, max_length=2000)
    image_urls: list[Any] | None = Field(default=None, sa_column=Column(JSON))
    idempotency_key: str | None = Field(default=None, unique=True, max_length=300)
    restocked_units: int | None = None
    refunded_amount: Decimal | None = Field(default=None, sa_type=Money)
    refund_id: str | None = Field(default=None, max_length=100)
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class ReturnItem(Base, table=True):
    """How many units of one order line a return gives back."""

    __tablename__ = "return_items"
    __table_args__ = (sa.UniqueConstraint("return_request_id", "order_item_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    return_request_id: str = Field(
        foreign_key="return_requests.id", index=True, ondelete="CASCADE", max_length=36
    )
    order_item_id: str = Field(foreign_key="order_items.id", index=True, ondelete="RESTRICT", max_length=36)
    quantity: int


class ReturnComment(Base, table=True):
    """A message on a return, from its customer (or guest) or from staff, with an optional image."""

    __tablename__ = "return_comments"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    return_request_id: str = Field(
        foreign_key="return_requests.id", index=True, ondelete="CASCADE", max_length=36
    )
    author_id: str | None = Field(default=None, max_length=100)  # None: the order's guest
    author_name: str = Field(max_length=200)
    role: CommentRole = Field(sa_type=sa.String(16))
    comment_text: str | None = Field(default=None, max_length=2000)
    image_url: str | None = Field(default=None, max_length=1000)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=300)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class CustomerCopy(Base, table=True):
    """A user as the auth service last described them (from `auth_events`), to show on orders."""

    __tablename__ = "customers"

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    profile_image: str | None = Field(default=None, max_length=1000)
    language: str | None = Field(default=None, max_length=8)  # None: copied from an event without one
    is_active: bool = True
    version: int = Field(default=0, sa_type=sa.BigInteger)  # the last applied event's; older ones are dropped
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class ProductCopy(Base, table=True):
    """A product as the catalog last described it (from `product_events`)."""

    __tablename__ = "products"

    id: str = Field(primary_key=True, max_length=100)
    name: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sku: str = Field(max_length=200)
    image_url: str | None = Field(default=None, max_length=1000)
    is_deleted: bool = False
    version: int = Field(default=0, sa_type=sa.BigInteger)  # the last applied event's; older ones are dropped
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class HandledEvent(Base, table=True):
    """Bus events already applied, so a redelivery changes nothing (written with the change itself)."""

    __tablename__ = "handled_events"

    id: str = Field(primary_key=True, max_length=100)
    handled_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class SentMail(Base, table=True):
    """A notification e-mail, by its Message-ID: claimed before it is handed to the mailer, `sent_at` set
    once the mailer took it, so a redelivered event finds it sent and sends nothing.
    """

    __tablename__ = "sent_mails"

    message_id: str = Field(primary_key=True, max_length=320)
    kind: str = Field(max_length=40)
    recipient: str = Field(max_length=320)
    event_id: str = Field(max_length=100)
    attempts: int = 0
    claimed_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
