"""How an activity tells Temporal whether a failed call to a service is worth retrying."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from temporalio.exceptions import ApplicationError

from kit.errors import AppError

RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})  # too slow, too many: the same request may pass later


def is_final(error: AppError) -> bool:
    """A 4xx answer (but 408 and 429) is the service's final word; unreachable or 5xx may pass later."""
    return 400 <= error.status_code < 500 and error.status_code not in RETRYABLE_CLIENT_ERRORS


def refusal(error: AppError) -> ApplicationError:
    """The service's refusal as a non-retryable error typed by its code (`InsufficientStock`, ...), in the
    words the contract gave it.
    """
    return ApplicationError(error.message, *(error.details or []), type=error.code, non_retryable=True)


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Final answers become refusals; every other failure propagates as it is, and Temporal retries it."""
    try:
        yield
    except AppError as error:
        if is_final(error):
            raise refusal(error) from error
        raise
