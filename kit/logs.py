"""Structured logs: one JSON object per line, carrying the service name, the request id and the trace and
span ids (null outside any request or span), so that a line found in one process leads to the trace in
the trace backend and to the request's lines in every other process.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from opentelemetry import baggage, trace

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
service_var: ContextVar[str | None] = ContextVar("service", default=None)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


REQUEST_ID_BAGGAGE = "commerce.request_id"  # the request id as it travels with the trace context


def current_request_id() -> str | None:
    """The request being answered here, or, in a workflow's activity or an event's handler, the one that
    caused this work (carried as baggage by kit.tracing).
    """
    if request_id := request_id_var.get():
        return request_id
    carried = baggage.get_baggage(REQUEST_ID_BAGGAGE)
    return carried if isinstance(carried, str) else None


def trace_ids() -> tuple[str | None, str | None]:
    """The current span's trace id and span id in their W3C hex form, or None outside any span."""
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return None, None
    return format(span.trace_id, "032x"), format(span.span_id, "016x")


class JsonFormatter(logging.Formatter):
    """Render a record and its `extra=` fields as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if service := service_var.get():
            entry["service"] = service
        entry["requestId"] = current_request_id()
        entry["traceId"], entry["spanId"] = trace_ids()
        entry.update(
            {k: v for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")}
        )
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    """A readable single line for a developer's terminal."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")}
        trace_id, _ = trace_ids()
        prefix = " ".join(
            filter(None, [service_var.get(), current_request_id(), trace_id and f"trace={trace_id}"])
        )
        line = f"{record.levelname[:4]} {record.name} {prefix + ' ' if prefix else ''}{record.getMessage()}"
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Install one stderr handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "uvicorn.error", "httpx", "httpcore", "aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").handlers.clear()
