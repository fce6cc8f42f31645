"""The error family every service raises; one handler in `kit.web` renders it as JSON.

Body shape (DESIGN.md section 5): `{"message": "...", "code": "<a refusal code>", "details": [...]}`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of all expected failures: carries an HTTP status and a stable machine-readable code."""

    status_code: ClassVar[int] = 500
    default_code: ClassVar[str] = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        """The JSON body clients receive."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


class BadRequest(AppError):
    status_code = 400
    default_code = "BadRequest"


class Unauthorized(AppError):
    status_code = 401
    default_code = "Unauthorized"


class Forbidden(AppError):
    status_code = 403
    default_code = "Forbidden"


class NotFound(AppError):
    status_code = 404
    default_code = "NotFound"


class RequestTimeout(AppError):
    status_code = 408
    default_code = "RequestTimeout"


class Conflict(AppError):
    status_code = 409
    default_code = "Conflict"


class Gone(AppError):
    status_code = 410
    default_code = "Gone"


class PayloadTooLarge(AppError):
    status_code = 413
    default_code = "PayloadTooLarge"


class TooManyRequests(AppError):
    status_code = 429
    default_code = "TooManyRequests"


class BadGateway(AppError):
    status_code = 502
    default_code = "BadGateway"


class Unavailable(AppError):
    status_code = 503
    default_code = "ServiceUnavailable"


class GatewayTimeout(AppError):
    status_code = 504
    default_code = "GatewayTimeout"


ERRORS_BY_STATUS: dict[int, type[AppError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        RequestTimeout,
        Conflict,
        Gone,
        PayloadTooLarge,
        TooManyRequests,
        BadGateway,
        Unavailable,
        GatewayTimeout,
    )
}


def error_for_status(status: int, body: Any) -> AppError:
    """Rebuild an upstream service's JSON error as our own error, keeping its message and code."""
    cls = ERRORS_BY_STATUS.get(status, BadGateway if status >= 500 else BadRequest)
    if isinstance(body, dict):
        message = str(body.get("message") or f"Upstream answered {status}")
        details = body.get("details")
        return cls(message, code=body.get("code"), details=details if isinstance(details, list) else None)
    return cls(f"Upstream answered {status}")
