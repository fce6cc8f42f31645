"""The story of an order in plain words: what its saga did, read from the workflow's Temporal history
(each step and its attempts, the reasons of failed ones, compensations, signals, timers, the end), and how
its status moved, read from the orders database; merged in time order.

Pure functions over what `reads.order_timeline` fetched. The saga's forward steps and status reports are
local activities: a local step leaves one `core_local_activity` marker (its last attempt, its failure, the
backoff before the next try) instead of an activity's scheduled, started and completed events, and the
attempts it retried within the worker are known only by the attempt number they lead up to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.contrib.pydantic import pydantic_data_converter

from apis.orders.models import Order, OrderStatusChange
from apis.orders.schemas import EntryKind, TimelineEntry
from contracts.orders import OrderStatus, PaymentMethod
from workflows import place_order as saga

LOCAL_ACTIVITY_MARKER = "core_local_activity"
CONVERTER = pydantic_data_converter.payload_converter


@dataclass(frozen=True)
class Step:
    """How the story names an activity: its step, and what it did when it succeeded."""

    name: str
    done: str
    compensation: bool = False


STEPS = {
    "reserve_stock": Step("reserve stock", "Reserved {what}"),
    "charge_payment": Step("charge the card", "Charged the card{what}"),
    "set_order_status": Step("report the status", "Reported the order {what} to the orders service"),
    "clear_cart": Step("clear the cart", "Emptied the cart the order came from"),
    "release_stock": Step("release stock", "Released {what}", compensation=True),
    "refund_payment": Step("refund the payment", "Refunded the charge, if any{what}", compensation=True),
}
SIGNALS = {
    saga.CANCEL_SIGNAL: "Cancellation requested: {0}",
    saga.FULFILMENT_SIGNAL: "The order shipped: the saga stops waiting for a cancellation",
    saga.RETRY_COMPENSATIONS_SIGNAL: "An operator asked to retry the parked compensations",
    saga.ORDER_STATUS_SIGNAL: "The orders service told the saga the order is now {0}",
}
STATUS_TEXT = {
    OrderStatus.CONFIRMED: "confirmed (cash on delivery): stock reserved",
    OrderStatus.PAID: "paid: stock reserved and the card charged",
    OrderStatus.CANCELLING: "being cancelled: stock and money go back",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.FAILED: "failed; what the saga did was undone",
    OrderStatus.SHIPPED: "shipped",
    OrderStatus.DELIVERED: "delivered",
}
# The saga's long waits: what it waits for, what its closing means, what ending it early means.
WINDOWS = {
    saga.CANCEL_WINDOW: (
        "for the order to ship or be cancelled",
        "The cancellation window closed: the order can no longer be cancelled here",
        "Stopped waiting for shipping or a cancellation",
    ),
    saga.DELIVERY_WINDOW: (
        "for the order to be delivered",
        "The delivery window closed: the saga stops following the order",
        "The order reached its final status: the saga stops following it",
    ),
}
E = EventType


def merged(*parts: list[TimelineEntry]) -> list[TimelineEntry]:
    """The entries of every source in time order (stable: each source keeps its own order)."""
    return sorted((entry for part in parts for entry in part), key=lambda entry: entry.at)


def note(at: datetime, text: str) -> TimelineEntry:
    """What the story cannot tell, and why (the saga's history unreadable, or no longer kept)."""
    return _entry(at, "note", text)


def from_changes(order: Order, changes: Sequence[OrderStatusChange]) -> list[TimelineEntry]:
    """The order placed, then each move of its status (the saga's, the staff's, the customer's)."""
    method = "by card" if order.payment_method == PaymentMethod.CREDIT_CARD else "cash on delivery"
    placed = _entry(order.created_at, "status", f"Order placed ({order.total_amount:.2f}, {method})")
    entries = [placed.model_copy(update={"source": "order"})]
    for change in changes:
        text = f"{change.previous} -> {change.status}: the order is {STATUS_TEXT[change.status]}"
        if change.reason and change.status in (OrderStatus.CANCELLING, OrderStatus.FAILED):
            text += f" ({change.reason})"
        entries.append(_entry(change.at, "status", text).model_copy(update={"source": "order"}))
    return entries


def from_history(events: Iterable[HistoryEvent]) -> list[TimelineEntry]:
    """The saga's story, one entry per meaningful event of its history."""
    reader = _Reader()
    for event in events:
        reader.read(event)
    return reader.entries


@dataclass
class _Scheduled:
    activity: str
    argument: Any
    at: datetime
    attempt: int = 1


class _Reader:
    """Walks a history once, remembering what later events refer back to."""

    def __init__(self) -> None:
        self.entries: list[TimelineEntry] = []
        self._started: datetime | None = None
        self._activities: dict[int, _Scheduled] = {}
        self._timers: dict[str, timedelta] = {}
        self._lines: dict[str, int] = {}  # local steps run per activity: the line a reserve is for
        self._moment: datetime | None = None  # when the worker last acted: a local step's start
        self._report: int | None = None  # the entry of a local status report, until its status is known

    def read(self, event: HistoryEvent) -> None:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        kind = event.event_type
        if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            self._workflow_started(at, event)
        elif kind == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            self._moment = at
        elif kind == E.EVENT_TYPE_MARKER_RECORDED:
            self._marker(at, event)
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            argument = _decoded(attributes.input.payloads)
            self._activities[event.event_id] = _Scheduled(attributes.activity_type.name, argument, at)
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            self._activity_started(at, event)
        elif kind in _ACTIVITY_ENDS:
            self._activity_ended(at, event)
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            self._signalled(at, event)
        elif kind in (E.EVENT_TYPE_TIMER_STARTED, E.EVENT_TYPE_TIMER_FIRED, E.EVENT_TYPE_TIMER_CANCELED):
            self._timer(at, event)
        elif kind == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            self._status_shown(event)
        elif kind in _WORKFLOW_ENDS:
            self._workflow_ended(at, event)

    def _add(self, entry: TimelineEntry) -> None:
        self.entries.append(entry)

    def _workflow_started(self, at: datetime, event: HistoryEvent) -> None:
        self._started = at
        order = _first(event.workflow_execution_started_event_attributes.input.payloads) or {}
        lines = order.get("lines") or []
        count = f"{len(lines)} line{'s' if len(lines) != 1 else ''}"
        paid = "by card" if order.get("payment_method") == PaymentMethod.CREDIT_CARD else "cash on delivery"
        self._add(_entry(at, "started", f"The saga started: {count}, {order.get('amount', '?')} {paid}"))

    def _marker(self, at: datetime, event: HistoryEvent) -> None:
        attributes = event.marker_recorded_event_attributes
        if attributes.marker_name != LOCAL_ACTIVITY_MARKER:
            return  # patch markers: which version of the saga ran
        data = _first(attributes.details["data"].payloads) or {}
        activity, attempt = str(data.get("activity_type", "")), int(data.get("attempt", 1))
        done_at = _timestamp(data.get("complete_time")) or at
        duration = _ms(done_at - self._moment) if self._moment and done_at >= self._moment else None
        self._moment = done_at
        step = _step(activity)
        if attributes.HasField("failure"):
            backoff = _seconds(data.get("backoff"))
            self._failed(done_at, step, attributes.failure, attempt, duration, retrying_in=backoff)
            return
        self._lines[activity] = self._lines.get(activity, 0) + 1
        what = self._local_what(activity, attributes)
        self._succeeded(done_at, step, what, attempt, duration)
        if activity == "set_order_status":
            self._report = len(self.entries) - 1

    def _local_what(self, activity: str, attributes: Any) -> str:
        """What a local step did: only its result is recorded, not its argument."""
        if activity == "reserve_stock":
            return f"stock for line {self._lines[activity]}"
        if activity == "charge_payment":
            result = _first(attributes.details["result"].payloads) if "result" in attributes.details else None
            return f" (transaction {result})" if result else ""
        return "status" if activity == "set_order_status" else ""

    def _status_shown(self, event: HistoryEvent) -> None:
        """The saga shows the status it reported in its search attributes: name it in the report's entry."""
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        if self._report is None or saga.ORDER_STATUS.name not in fields:
            return
        status = CONVERTER.from_payloads([fields[saga.ORDER_STATUS.name]])[0]
        entry = self.entries[self._report]
        self.entries[self._report] = entry.model_copy(
            update={"text": entry.text.replace("status", status, 1)}
        )
        self._report = None

    def _activity_started(self, at: datetime, event: HistoryEvent) -> None:
        attributes = event.activity_task_started_event_attributes
        scheduled = self._activities.get(attributes.scheduled_event_id)
        if scheduled is None:
            return
        scheduled.attempt = attributes.attempt
        attempt = attributes.attempt
        if attempt > 1:  # the server retried it: only the last failure is recorded
            step, reason = _step(scheduled.activity), _reason(attributes.last_failure)
            text = f"{step.name.capitalize()}: attempt {attempt} after {attempt - 1} failed (last: {reason})"
            self._add(_entry(at, "retry", text, step.name, attempt))

    def _activity_ended(self, at: datetime, event: HistoryEvent) -> None:
        attribute = event.WhichOneof("attributes")
        attributes = getattr(event, attribute or "")
        scheduled = self._activities.pop(attributes.scheduled_event_id, None)
        if scheduled is None:
            return
        step, duration = _step(scheduled.activity), _ms(at - scheduled.at)
        what = _what(scheduled.activity, scheduled.argument)
        if event.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            self._succeeded(at, step, what, scheduled.attempt, duration)
        elif event.event_type == E.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
            self._add(_entry(at, "failure", f"{step.name.capitalize()}: cancelled", step.name))
        else:
            failure = attributes.failure
            retry_state = getattr(attributes, "retry_state", RetryState.RETRY_STATE_UNSPECIFIED)
            self._failed(at, step, failure, scheduled.attempt, duration, retry_state=retry_state)

    def _succeeded(self, at: datetime, step: Step, what: str, attempt: int, duration: int | None) -> None:
        text = step.done.format(what=what)
        if attempt > 1:
            text += f", at attempt {attempt}"
        kind: EntryKind = "compensation" if step.compensation else "step"
        self._add(_entry(at, kind, text, step.name, attempt, duration))

    def _failed(
        self,
        at: datetime,
        step: Step,
        failure: Failure,
        attempt: int,
        duration: int | None,
        *,
        retrying_in: float | None = None,
        retry_state: int = RetryState.RETRY_STATE_UNSPECIFIED,
    ) -> None:
        reason = _reason(failure)
        name = step.name.capitalize()
        if retrying_in is not None:
            text = f"{name}: attempt {attempt} failed ({reason}); next try in {retrying_in:g} s"
            self._add(_entry(at, "retry", text, step.name, attempt, duration))
            return
        refused = failure.application_failure_info.non_retryable or (
            retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
        )
        if refused:
            text = f"{name}: refused ({reason}), not retried"
        else:
            text = f"{name}: gave up after {attempt} attempt{'s' if attempt > 1 else ''} ({reason})"
        if step.compensation:
            text += "; parked for an operator"
        self._add(_entry(at, "failure", text, step.name, attempt, duration))

    def _signalled(self, at: datetime, event: HistoryEvent) -> None:
        attributes = event.workflow_execution_signaled_event_attributes
        arguments = _decoded(attributes.input.payloads)
        template = SIGNALS.get(attributes.signal_name, f"Signal {attributes.signal_name} received {{0}}")
        text = template.format(*(arguments or [""])).rstrip(": ")
        self._add(_entry(at, "signal", text, attributes.signal_name))

    def _timer(self, at: datetime, event: HistoryEvent) -> None:
        if event.event_type == E.EVENT_TYPE_TIMER_STARTED:
            started = event.timer_started_event_attributes
            length = started.start_to_fire_timeout.ToTimedelta()
            self._timers[started.timer_id] = length
            if length in WINDOWS:
                self._add(_entry(at, "timer", f"Waiting up to {length.days} days {WINDOWS[length][0]}"))
            return  # a shorter timer is a local step's backoff, told with the attempt that failed
        attributes = (
            event.timer_fired_event_attributes
            if event.event_type == E.EVENT_TYPE_TIMER_FIRED
            else event.timer_canceled_event_attributes
        )
        window = WINDOWS.get(self._timers.pop(attributes.timer_id, timedelta()))
        if window is not None:
            _, closed, stopped = window
            fired = event.event_type == E.EVENT_TYPE_TIMER_FIRED
            self._add(_entry(at, "timer", closed if fired else stopped))

    def _workflow_ended(self, at: datetime, event: HistoryEvent) -> None:
        duration = _ms(at - self._started) if self._started else None
        if event.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = _first(event.workflow_execution_completed_event_attributes.result.payloads) or {}
            text = f"The saga ended: the order is {result.get('status', '?')}"
            if result.get("reason"):
                text += f" ({result['reason']})"
        elif event.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            reason = event.workflow_execution_terminated_event_attributes.reason
            text = f"The saga was terminated by an operator ({reason or 'no reason given'})"
        elif event.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = event.workflow_execution_failed_event_attributes.failure
            text = f"The saga failed: {_reason(failure)}"
        else:
            text = (
                f"The saga ended: {E.Name(event.event_type).removeprefix('EVENT_TYPE_WORKFLOW_EXECUTION_')}"
            )
        self._add(_entry(at, "ended", text, duration_ms=duration))


_ACTIVITY_ENDS = (
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
)
_WORKFLOW_ENDS = (
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
)


def _entry(
    at: datetime,
    kind: EntryKind,
    text: str,
    step: str | None = None,
    attempt: int | None = None,
    duration_ms: int | None = None,
) -> TimelineEntry:
    return TimelineEntry(
        at=at, kind=kind, text=text, step=step, attempt=attempt, duration_ms=duration_ms, source="workflow"
    )


def _step(activity: str) -> Step:
    return STEPS.get(activity, Step(activity, f"Ran {activity}"))


def _what(activity: str, argument: Any) -> str:
    """What an activity's argument says it did: the variant and quantity, or the status reported."""
    argument = argument[0] if isinstance(argument, list) and argument else {}
    if not isinstance(argument, dict):
        return ""
    if "variant_id" in argument:
        return f"{argument.get('quantity')} x {argument['variant_id']}"
    if activity == "set_order_status":
        return str(argument.get("status", "status"))
    if activity == "refund_payment" and argument.get("amount"):
        return f" ({argument['amount']})"
    return ""


def _reason(failure: Failure) -> str:
    """A failure in words: its message and, for a refusal, its code."""
    while not failure.message and failure.HasField("cause"):
        failure = failure.cause
    code = failure.application_failure_info.type
    message = failure.message or "no reason recorded"
    return f"{message} [{code}]" if code and code not in message else message


def _decoded(payloads: Sequence[Any]) -> list[Any]:
    try:
        return list(CONVERTER.from_payloads(list(payloads)))
    except Exception:  # a payload this service cannot read (another encoding): tell the rest anyway
        return []


def _first(payloads: Sequence[Any]) -> Any:
    decoded = _decoded(payloads)
    return decoded[0] if decoded else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, dict) or "seconds" not in value:
        return None
    return datetime.fromtimestamp(int(value["seconds"]) + int(value.get("nanos", 0)) / 1e9, tz=UTC)


def _seconds(value: Any) -> float | None:
    if not isinstance(value, dict):
        return None
    return int(value.get("seconds", 0)) + int(value.get("nanos", 0)) / 1e9


def _ms(delta: timedelta) -> int:
    return max(0, round(delta.total_seconds() * 1000))
