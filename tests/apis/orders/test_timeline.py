"""The story of an order read from its saga's recorded histories (tests/workflows/histories/place_order:
real runs of each version) and from its status changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from apis.orders import timeline
from apis.orders.models import Order, OrderStatusChange
from apis.orders.schemas import TimelineEntry
from contracts.orders import OrderStatus, PaymentMethod

HISTORIES = Path(__file__).parents[2] / "workflows" / "histories" / "place_order"


def story(name: str) -> list[TimelineEntry]:
    history = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())
    return timeline.from_history(history.events)


def told(name: str) -> list[tuple[str, str | None, str]]:
    return [(entry.kind, entry.step, entry.text) for entry in story(name)]


@pytest.mark.parametrize("name", sorted(path.stem for path in HISTORIES.glob("*.json")))
def test_every_recorded_history_reads_in_time_order_from_its_start(name: str) -> None:
    entries = story(name)
    assert entries[0].kind == "started"
    assert all(entry.text and entry.source == "workflow" for entry in entries)
    assert not [entry.text for entry in entries if entry.text.startswith(("Ran ", "Signal "))]


def test_a_declined_card_reads_as_a_refusal_then_every_compensation_in_reverse() -> None:
    assert told("v2-card-declined") == [
        ("started", None, "The saga started: 2 lines, 30.00 by card"),
        ("step", "reserve stock", "Reserved stock for line 1"),
        ("step", "reserve stock", "Reserved stock for line 2"),
        (
            "failure",
            "charge the card",
            "Charge the card: refused (Card declined [PaymentDeclined]), not retried",
        ),
        ("compensation", "refund the payment", "Refunded the charge, if any (30.00)"),
        ("compensation", "release stock", "Released 1 x blue"),
        ("compensation", "release stock", "Released 2 x red"),
        ("step", "report the status", "Reported the order FAILED to the orders service"),
        ("ended", None, "The saga ended: the order is FAILED (Card declined)"),
    ]


def test_a_paid_and_shipped_order_reads_its_charge_and_the_fulfilment_signal() -> None:
    assert told("v2-card-shipped")[3:] == [
        ("step", "charge the card", told("v2-card-shipped")[3][2]),
        ("step", "report the status", "Reported the order PAID to the orders service"),
        ("timer", None, "Waiting up to 30 days for the order to ship or be cancelled"),
        (
            "signal",
            "fulfilment_started",
            "The order shipped: the saga stops waiting for a cancellation",
        ),
        ("timer", None, "Stopped waiting for shipping or a cancellation"),
        ("ended", None, "The saga ended: the order is PAID"),
    ]
    assert told("v2-card-shipped")[3][2].startswith("Charged the card (transaction txn_")


def test_a_cancelled_order_reads_the_signal_with_its_reason_then_refund_and_release() -> None:
    kinds = [(kind, step) for kind, step, _ in told("v2-card-cancelled")]
    assert kinds[-6:] == [
        ("signal", "cancel"),
        ("timer", None),
        ("compensation", "refund the payment"),
        ("compensation", "release stock"),
        ("step", "report the status"),
        ("ended", None),
    ]
    assert ("signal", "cancel", "Cancellation requested: Changed my mind") in told("v2-card-cancelled")


def test_a_local_step_retried_after_a_backoff_reads_its_attempt_reason_and_wait() -> None:
    retry = next(entry for entry in story("v2-cancelled-while-reserve-retries") if entry.kind == "retry")
    assert retry.step == "reserve stock"
    assert retry.attempt == 4
    assert retry.text == (
        "Reserve stock: attempt 4 failed (products service unreachable [ConnectionError]); next try in 1.6 s"
    )


def test_a_local_step_that_succeeded_after_retries_in_the_worker_names_its_attempt() -> None:
    reserved = story("v2-reserve-retried-awaiting-fulfilment")[1]
    assert (reserved.text, reserved.attempt) == ("Reserved stock for line 1, at attempt 3", 3)


def test_an_activity_retried_by_the_server_reads_its_last_failure_and_its_duration() -> None:
    entries = story("v1-cancelled-while-reserve-retries")
    retry = next(entry for entry in entries if entry.kind == "retry")
    assert retry.text == (
        "Reserve stock: attempt 5 after 4 failed (last: products service unreachable [ConnectionError])"
    )
    reserved = next(entry for entry in entries if entry.text.startswith("Reserved"))
    assert reserved.text == "Reserved 1 x red, at attempt 5"
    assert reserved.duration_ms is not None
    assert reserved.duration_ms > 3000


def test_the_end_reads_how_long_the_whole_saga_took() -> None:
    ended = story("v2-cancellation-window-expired")[-1]
    assert ended.kind == "ended"
    assert ended.duration_ms is not None
    assert ended.duration_ms >= timedelta(days=30).total_seconds() * 1000


def test_status_changes_read_after_the_placement_with_their_reasons() -> None:
    placed = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    order = Order(
        phone="0612345678",
        payment_method=PaymentMethod.CREDIT_CARD,
        shipping_address={},
        total_amount=Decimal("30"),
        display_total_amount=Decimal("30"),
        idempotency_key="k",
        created_at=placed,
    )
    changes = [
        OrderStatusChange(
            order_id=order.id,
            previous=OrderStatus.PAID,
            status=OrderStatus.CANCELLING,
            reason="Cancelled by the customer",
            at=placed + timedelta(minutes=5),
        ),
        OrderStatusChange(
            order_id=order.id,
            previous=OrderStatus.PENDING,
            status=OrderStatus.PAID,
            at=placed + timedelta(seconds=1),
        ),
    ]
    entries = timeline.merged(timeline.from_changes(order, changes))
    assert [(entry.kind, entry.source, entry.text) for entry in entries] == [
        ("status", "order", "Order placed (30.00, by card)"),
        ("status", "order", "PENDING -> PAID: the order is paid: stock reserved and the card charged"),
        (
            "status",
            "order",
            "PAID -> CANCELLING: the order is being cancelled: stock and money go back "
            "(Cancelled by the customer)",
        ),
    ]
