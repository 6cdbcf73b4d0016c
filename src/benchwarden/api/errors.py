"""Error bodies in each API's own format, and the one error type that carries them.

OpenAI: ``{"error": {"message", "type", "param", "code"}}``.
Anthropic: ``{"type": "error", "error": {"type", "message", "code"}}``; the real API
has no ``code``, so warden adds its reason there (clients ignore unknown fields and
``benchwarden.models.http_errors`` reads it from either body).
"""

from __future__ import annotations

import math
from typing import Any, Literal

Dialect = Literal["openai", "anthropic"]

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


class ApiError(Exception):
    """A refusal or failure to send back: HTTP status, a ``code`` naming the reason, and
    a message saying what to do. ``retry_after_s`` becomes ``Retry-After``;
    ``retryable=False`` becomes ``x-should-retry: false`` (the official SDKs honour it).

    Messages never contain a key or any part of the request's content.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after_s: float | None = None,
        retryable: bool | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s
        self.retryable = retryable
        self.param = param  # OpenAI's ``param``: the request field at fault, when one is

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r})"


def invalid(message: str, code: str = "invalid_request") -> ApiError:
    """A 400 for a request that cannot be served as sent."""
    return ApiError(400, code, message, retryable=False)


def error_type(dialect: Dialect, status: int) -> str:
    table = _OPENAI_TYPES if dialect == "openai" else _ANTHROPIC_TYPES
    if status in table:
        return table[status]
    if status >= 500:
        return "server_error" if dialect == "openai" else "api_error"
    return "invalid_request_error"


def error_body(dialect: Dialect, error: ApiError) -> dict[str, Any]:
    kind = error_type(dialect, error.status)
    if dialect == "openai":
        return {
            "error": {
                "message": error.message,
                "type": kind,
                "param": error.param,
                "code": error.code,
            }
        }
    return {
        "type": "error",
        "error": {"type": kind, "message": error.message, "code": error.code},
    }


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up, at least 1: waiting that long is always enough."""
    return str(max(1, math.ceil(seconds - 1e-9)))


def error_headers(error: ApiError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if error.retry_after_s is not None:
        headers["retry-after"] = retry_after_header(error.retry_after_s)
    if error.retryable is not None:
        headers["x-should-retry"] = "true" if error.retryable else "false"
    return headers
