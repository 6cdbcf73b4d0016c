"""A backend's failure as the caller sees it: typed model errors -> API errors. Pure.

The caller did nothing wrong when an upstream fails, so these are 5xx (or the
upstream's own 429 and 400), with codes that say where the fault lies.
"""

from __future__ import annotations

from benchwarden.api.errors import ApiError
from benchwarden.models.errors import (
    CONTEXT_LENGTH_EXCEEDED,
    AccessDenied,
    BadRequest,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    RateLimited,
)


def is_context_overflow(error: BadRequest) -> bool:
    """The prompt did not fit: OpenAI's code, or Anthropic's wording (its body has none)."""
    return error.code == CONTEXT_LENGTH_EXCEEDED or "prompt is too long" in error.message


def api_error_for(error: ModelError) -> ApiError:
    # The message names the served model and what happened; never a key or a prompt.
    text = error.message
    if isinstance(error, RateLimited):
        return ApiError(
            429,
            "upstream_rate_limited",
            f"The upstream serving this model is rate limiting warden: {text}",
            retry_after_s=error.retry_after_s if error.retry_after_s is not None else 1.0,
        )
    if isinstance(error, BadRequest) and is_context_overflow(error):
        return ApiError(
            400,
            CONTEXT_LENGTH_EXCEEDED,
            f"{text.rstrip('.')}. Reduce the length of the messages (or the prompt), or "
            "lower max_tokens, and try again.",
            retryable=False,
            param="messages",
        )
    if isinstance(error, BadRequest):
        # The backend rejected the request as invalid; nothing refused anything.
        return ApiError(
            400, "upstream_bad_request", f"The model's backend rejected the request: {text}"
        )
    if isinstance(error, AccessDenied):
        return ApiError(
            502,
            "upstream_access_denied",
            "The upstream refused warden's own credentials for this model; the provider "
            "must fix its configuration.",
        )
    if isinstance(error, ModelTimeout):
        return ApiError(504, "upstream_timeout", f"The model did not answer in time: {text}")
    if isinstance(error, ModelUnavailable):
        return ApiError(
            503, "backend_unavailable", f"The model cannot be reached from warden: {text}"
        )
    return ApiError(502, "upstream_error", f"The upstream failed: {text}")
