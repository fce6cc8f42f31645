"""The stock ledger: every change of a variant's quantity is a `StockMovement` written in the same transaction
as a conditional update of the quantity, so no concurrency can oversell or lose an update.

    UPDATE variant SET stock_quantity = stock_quantity + :change
     WHERE id = :id AND stock_quantity + :change >= 0 RETURNING stock_quantity, product_id

No row updated means the variant is missing (404) or short (409 `InsufficientStock`). The database serialises
writers on the variant's row (PostgreSQL's row lock; SQLite's single writer, waited for through its busy
timeout: the update is the transaction's first statement, so it never has to upgrade a read snapshot).
The product's `in_stock` follows in the same transaction (catalog.refresh_listing); on PostgreSQL the
product's row is locked first, so that two adjustments of its variants take turns (product, then variant:
the order of every writer of variants) and the second sees the first's quantity.

An idempotency key belongs to its caller (stored as `{caller}/{key}`, shown back as `key`) and is unique in
the ledger: a repeated key answers the first result. Concurrent requests with one key leave exactly one
movement: a loser whose update passed is rolled back by the key's conflict; a loser refused (short, nothing
left to release) was refused only after waiting for the winner's lock, hence its commit, so after rolling
back it finds the winner's movement and answers it too.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from apis.products.errors import (
    IdempotencyKeyReused,
    InsufficientStock,
    ReleaseExceedsReservation,
)
from apis.products.events import Notifier
from apis.products.models import Product, StockMovement, StockMovementType, Variant
from apis.products.schemas.stock import (
    SCOPE_SEPARATOR,
    ReconcileReport,
    StockAdjust,
    StockAdjustResult,
    StockMismatch,
    StockMovementRead,
)
from apis.products.service.catalog import refresh_listing
from contracts.products import VariantNotFound
from kit import metrics
from kit.db import commit, now

GIVING_BACK = frozenset({StockMovementType.ORDER_CANCELLED, StockMovementType.RETURN_RESTOCK})


def scoped_key(caller: str, key: str) -> str:
    """The key as stored: two callers sending one key string hold two keys."""
    return f"{caller}{SCOPE_SEPARATOR}{key}"


async def adjust_stock(
    session: AsyncSession, notify: Notifier, variant_id: str, data: StockAdjust, *, caller: str
) -> StockAdjustResult:
    """Apply one adjustment, or answer the first result of the caller's idempotency key."""
    key = scoped_key(caller, data.idempotency_key) if data.idempotency_key else None
    if key and (earlier := await _movement_with_key(session, key)) is not None:
        return _replay(earlier, variant_id, data)
    try:
        return await _apply(session, notify, variant_id, data, key)
    except (IntegrityError, InsufficientStock, ReleaseExceedsReservation):
        await session.rollback()
        if key and (earlier := await _movement_with_key(session, key)) is not None:
            return _replay(earlier, variant_id, data)  # a concurrent request with this key won
        raise


async def _apply(
    session: AsyncSession, notify: Notifier, variant_id: str, data: StockAdjust, key: str | None
) -> StockAdjustResult:
    change = data.change_quantity
    quantity = col(Variant.stock_quantity)
    target = _target(variant_id, data.type)
    if session.get_bind().dialect.name == "postgresql":
        owner = sa.select(col(Variant.product_id)).where(col(Variant.id) == variant_id).scalar_subquery()
        await session.execute(sa.select(col(Product.id)).where(col(Product.id) == owner).with_for_update())
    updated = (
        await session.execute(
            sa.update(Variant)
            .where(*target, quantity + change >= 0)
            .values(stock_quantity=quantity + change, updated_at=now())
            .returning(quantity, col(Variant.product_id))
        )
    ).first()
    if updated is None:
        await session.rollback()
        available = await session.scalar(sa.select(quantity).where(*target))
        if available is None:
            raise VariantNotFound(variant_id)
        raise InsufficientStock(variant_id, change, available)
    new_quantity, product_id = updated
    if data.type in GIVING_BACK and data.related_order_id:
        await _check_release(session, variant_id, data.related_order_id, change)
    movement = StockMovement(
        variant_id=variant_id,
        change_quantity=change,
        quantity_after=new_quantity,
        type=data.type.value,
        reason=data.reason,
        related_order_id=data.related_order_id,
        idempotency_key=key,
        timestamp=now(),
    )
    session.add(movement)
    await refresh_listing(session, product_id, price=False)
    notify.product_changed(session, product_id)
    await commit(session)
    return _result(movement, replayed=False)


def _target(variant_id: str, kind: StockMovementType) -> list[sa.ColumnElement[bool]]:
    """The variant; for a new order, only while its product is not archived (it is then as if deleted),
    whereas releases and returns of earlier orders still reach it.
    """
    target = [col(Variant.id) == variant_id]
    if kind is StockMovementType.ORDER:
        live = sa.select(col(Product.id)).where(col(Product.archived_at).is_(None))
        target.append(col(Variant.product_id).in_(live))
    return target


async def _check_release(session: AsyncSession, variant_id: str, order_id: str, change: int) -> None:
    """An order gives back (cancellation, return) at most what it still holds of the variant; read after the
    update, so under the variant's lock: two concurrent releases cannot both pass.
    """
    net = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(col(StockMovement.change_quantity)), 0)).where(
            col(StockMovement.variant_id) == variant_id, col(StockMovement.related_order_id) == order_id
        )
    )
    held = -int(net or 0)
    if change > held:
        await session.rollback()
        raise ReleaseExceedsReservation(variant_id, order_id, change, max(held, 0))


async def _movement_with_key(session: AsyncSession, key: str) -> StockMovement | None:
    found: StockMovement | None = await session.scalar(
        sa.select(StockMovement).where(col(StockMovement.idempotency_key) == key)
    )
    return found


def _replay(earlier: StockMovement, variant_id: str, data: StockAdjust) -> StockAdjustResult:
    same = (earlier.variant_id, earlier.change_quantity, earlier.type) == (
        variant_id,
        data.change_quantity,
        data.type.value,
    )
    if not same:
        raise IdempotencyKeyReused(data.idempotency_key or "")
    return _result(earlier, replayed=True)


def _result(movement: StockMovement, *, replayed: bool) -> StockAdjustResult:
    return StockAdjustResult(
        message=f"Stock adjusted successfully for variant {movement.variant_id}.",
        movement=StockMovementRead.model_validate(movement),
        new_stock_quantity=movement.quantity_after,
        replayed=replayed,
    )


async def stock_history(
    session: AsyncSession, variant_id: str, *, limit: int = 100
) -> list[StockMovementRead]:
    """The variant's latest movements, newest first."""
    if await session.get(Variant, variant_id) is None:
        raise VariantNotFound(variant_id)
    movements = await session.scalars(
        sa.select(StockMovement)
        .where(col(StockMovement.variant_id) == variant_id)
        .order_by(col(StockMovement.timestamp).desc())
        .limit(limit)
    )
    return [StockMovementRead.model_validate(m) for m in movements]


async def reconcile(session: AsyncSession) -> ReconcileReport:
    """Variants whose quantity differs from the sum of their movements (there should never be one)."""
    ledger = (
        sa.select(
            col(StockMovement.variant_id).label("variant_id"),
            sa.func.sum(col(StockMovement.change_quantity)).label("total"),
        )
        .group_by(col(StockMovement.variant_id))
        .subquery()
    )
    total = sa.func.coalesce(ledger.c.total, 0)
    rows = await session.execute(
        sa.select(col(Variant.id), col(Variant.product_id), col(Variant.stock_quantity), total)
        .outerjoin(ledger, ledger.c.variant_id == col(Variant.id))
        .where(col(Variant.stock_quantity) != total)
        .order_by(col(Variant.id))
    )
    mismatches = [
        StockMismatch(variant_id=v, product_id=p, stock_quantity=q, ledger_quantity=int(t))
        for v, p, q, t in rows
    ]
    checked = await session.scalar(sa.select(sa.func.count()).select_from(Variant)) or 0
    metrics.STOCK_DRIFT_VARIANTS.set(len(mismatches))
    metrics.STOCK_DRIFT_UNITS.set(sum(abs(m.stock_quantity - m.ledger_quantity) for m in mismatches))
    metrics.STOCK_RECONCILED_AT.set_to_current_time()
    return ReconcileReport(variants_checked=checked, mismatches=mismatches)
