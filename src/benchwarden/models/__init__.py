"""Reaching a model: one client protocol over OpenAI, Anthropic and embedded llama.cpp."""

from benchwarden.models.errors import (
    AccessDenied,
    BadRequest,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    RateLimited,
    UpstreamError,
)
from benchwarden.models.factory import open_client
from benchwarden.models.protocol import ModelClient
from benchwarden.models.registry import resolve
from benchwarden.models.types import (
    FinishReason,
    GenerateRequest,
    GenerateResult,
    Message,
    Mode,
    StreamDelta,
    Usage,
)

__all__ = [
    "AccessDenied",
    "BadRequest",
    "FinishReason",
    "GenerateRequest",
    "GenerateResult",
    "Message",
    "Mode",
    "ModelClient",
    "ModelError",
    "ModelTimeout",
    "ModelUnavailable",
    "RateLimited",
    "StreamDelta",
    "UpstreamError",
    "Usage",
    "open_client",
    "resolve",
]
