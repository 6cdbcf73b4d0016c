"""Typed errors for reaching a model. Each says which model failed and what to do.

The runner records these as infrastructure errors, apart from wrong answers, so a
dead provider is never counted as a model failure. Messages never contain secrets.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base class. ``retryable`` tells the pacing layer whether another try can help."""

    retryable: bool = False
    kind: str = "error"

    def __init__(
        self,
        model: str,
        message: str,
        *,
        hint: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.model = model
        self.message = message
        self.hint = hint
        self.status = status
        self.code = code
        self.attempts = 1
        super().__init__(message)

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        head = f"{self.model}: {self.message}"
        if self.status is not None:
            head += f" (HTTP {self.status}"
            head += f", code {self.code})" if self.code else ")"
        elif self.code:
            head += f" (code {self.code})"
        return f"{head}. {self.hint}" if self.hint else head


class RateLimited(ModelError):
    """429 or an exhausted quota header. ``retry_after_s`` comes from the provider."""

    retryable = True
    kind = "rate_limited"

    def __init__(
        self, model: str, message: str, *, retry_after_s: float | None = None, **kwargs: object
    ) -> None:
        self.retry_after_s = retry_after_s
        kwargs.setdefault(
            "hint",
            "Lower --max-concurrency for this model or ask the provider for a higher limit.",
        )
        super().__init__(model, message, **kwargs)  # type: ignore[arg-type]


class AccessDenied(ModelError):
    """401/403: bad, revoked or expired key, model not granted, purpose not permitted."""

    kind = "access_denied"


class BadRequest(ModelError):
    """400/404/413/422: the request itself is wrong; retrying cannot help."""

    kind = "bad_request"


CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
"""A BadRequest's code when the prompt does not fit the model's window (OpenAI's name)."""


class UpstreamError(ModelError):
    """5xx, malformed responses, dropped connections: transient, worth retrying."""

    retryable = True
    kind = "upstream_error"


class ModelTimeout(ModelError):
    """A single attempt or the whole call's time budget ran out."""

    retryable = True
    kind = "timeout"


class BudgetExhausted(ModelTimeout):
    """The overall time budget for one call is spent; not retried further."""

    retryable = False
    kind = "timeout"


class ModelUnavailable(ModelError):
    """The model cannot be reached at all from here: unknown name, missing files or key."""

    kind = "unavailable"


ACCESS_HINTS: dict[str, str] = {
    "invalid_key": "Check the API key: it is unknown to the provider.",
    "invalid_api_key": "Check the API key: it is unknown to the provider.",
    "authentication_error": "Check the API key: the provider did not accept it.",
    "key_revoked": "This key was revoked by the provider; ask them for a new key.",
    "key_expired": "This key has expired; ask the provider to renew the grant.",
    "model_not_granted": "Your organization has no grant for this model; ask the provider.",
    "purpose_not_permitted": (
        "The declared purpose is not permitted by your grant; run with a permitted --purpose."
    ),
    "permission_error": "The provider refused access to this model.",
}
