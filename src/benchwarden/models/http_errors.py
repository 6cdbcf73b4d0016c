"""Turning an HTTP error response into a typed ModelError. Pure: no I/O.

Understands the OpenAI body ``{"error": {"message", "type", "code"}}`` and the
Anthropic body ``{"type": "error", "error": {"type", "message"}}``; warden puts its
reason (``key_revoked``, ``purpose_not_permitted``...) in ``code`` of either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from benchwarden.models.errors import (
    ACCESS_HINTS,
    AccessDenied,
    BadRequest,
    ModelError,
    ModelTimeout,
    RateLimited,
    UpstreamError,
)
from benchwarden.models.pacing.headers import exhausted_quota_wait, retry_after_seconds

_MAX_MESSAGE = 300


def error_fields(body: bytes) -> tuple[str | None, str | None]:
    """(message, code) from either API's error body; (None, None) if unreadable."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    err = data.get("error")
    if not isinstance(err, dict):
        return (str(err)[:_MAX_MESSAGE] if isinstance(err, str) else None), None
    message = err.get("message")
    code = err.get("code") or err.get("type")
    return (
        str(message)[:_MAX_MESSAGE] if message is not None else None,
        str(code) if code is not None else None,
    )


def classify_http_error(
    model: str, status: int, headers: Mapping[str, str], body: bytes
) -> ModelError:
    message, code = error_fields(body)
    text = message or f"HTTP {status} from the provider"
    asked = retry_after_seconds(headers)
    # 503/529 ("overloaded") that say when to come back are a rate limit, not a failure.
    if status == 429 or (status in (503, 529) and asked is not None):
        wait = asked if asked is not None else exhausted_quota_wait(headers)
        return RateLimited(model, text, retry_after_s=wait, status=status, code=code)
    if status in (401, 403):
        default = "Check the API key and its grant." if status == 401 else ""
        hint = ACCESS_HINTS.get(code or "", default or "The provider refused access.")
        return AccessDenied(model, text, hint=hint, status=status, code=code)
    if status in (408, 504):
        return ModelTimeout(
            model,
            text,
            hint="The provider timed out (transient).",
            status=status,
            code=code,
        )
    if status >= 500 or status == 409:
        return UpstreamError(
            model, text, hint="The provider failed (transient).", status=status, code=code
        )
    hint = "Fix the request (model name, parameters, prompt size)."
    if status == 404:
        hint = "Check the model name and the base URL."
    return BadRequest(model, text, hint=hint, status=status, code=code)


# Codes that mean "you may not", whatever the status they would have come with.
_ACCESS_CODES = frozenset(
    {
        "invalid_key",
        "invalid_api_key",
        "authentication_error",
        "permission_error",
        "key_revoked",
        "key_expired",
        "model_not_granted",
        "purpose_not_permitted",
    }
)
_RATE_CODES = frozenset({"rate_limited", "token_limit", "rate_limit_error"})


def classify_stream_error(model: str, error: object) -> ModelError:
    """An error sent inside a stream (an OpenAI ``{"error": ...}`` chunk or an Anthropic
    ``error`` event): the status is gone, so the code decides."""
    fields = error if isinstance(error, dict) else {}
    message = str(fields.get("message") or "the stream ended with an error")[:_MAX_MESSAGE]
    code = fields.get("code") or fields.get("type")
    code = str(code) if code is not None else None
    if code in _ACCESS_CODES:
        return AccessDenied(
            model, message, code=code, hint=ACCESS_HINTS.get(code, "The provider refused access.")
        )
    if code in _RATE_CODES:
        return RateLimited(model, message, code=code)
    return UpstreamError(model, message, code=code, hint="The stream was ended by the provider.")
