"""How an activity tells Temporal whether a failed call to a service is worth retrying."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from temporalio.exceptions import ApplicationError

from kit.errors import AppError

RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})  # too slow, too many: the same request may pass later


def is_final(error: AppError) -> bool:
    """A 4xx answer (but 408 and 429) is the service's final word; unreachable or 5xx may pass later."""
    return 400 <= error.status_code < 500 and error.status_code not in RETRYABLE_CLIENT_ERRORS


def refusal(
    error: AppError, message: str | None = None, details: list[Any] | None = None, code: str | None = None
) -> ApplicationError:
    """The service's refusal as a non-retryable error typed by its code (`InsufficientStock`, ...)."""
    args = details if details is not None else (error.details or [])
    return ApplicationError(message or error.message, *args, type=code or error.code, non_retryable=True)


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Final answers become refusals; every other failure propagates as it is, and Temporal retries it."""
    try:
        yield
    except AppError as error:
        if is_final(error):
            raise refusal(error) from error
        raise
