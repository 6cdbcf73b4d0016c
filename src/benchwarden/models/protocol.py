"""The one interface every model is reached through.

``ModelClient`` is what the runner, judges and warden backends use. ``Transport`` is
one provider's single attempt (no retries, no pacing); ``PacedClient`` turns a
transport into a ``ModelClient`` and ``CachedClient`` adds the response cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from benchwarden.models.types import GenerateRequest, GenerateResult, StreamDelta


@runtime_checkable
class ModelClient(Protocol):
    name: str
    endpoint: str

    async def generate(self, request: GenerateRequest) -> GenerateResult: ...

    def stream(self, request: GenerateRequest) -> AsyncIterator[StreamDelta]: ...

    async def aclose(self) -> None: ...


class Transport(Protocol):
    """One attempt against one provider. Raises typed ``ModelError``s only."""

    name: str
    endpoint: str

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult: ...

    def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]: ...

    async def aclose(self) -> None: ...
