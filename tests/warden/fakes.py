"""Scriptable model clients for warden's tests (the ModelClient protocol, no network)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from benchwarden.models.types import (
    Choice,
    FinishReason,
    GenerateRequest,
    GenerateResult,
    Mode,
    StreamDelta,
    Usage,
)


class FakeClient:
    """Answers ``pieces`` words, one delta each, ``delay_s`` apart. With
    ``honour_max_tokens=False`` it ignores max_tokens, like a misbehaving upstream."""

    def __init__(
        self,
        name: str,
        *,
        pieces: int = 5,
        delay_s: float = 0.0,
        honour_max_tokens: bool = True,
        input_tokens: int = 11,
    ) -> None:
        self.name = name
        self.endpoint = "fake://"
        self.pieces = pieces
        self.delay_s = delay_s
        self.honour_max_tokens = honour_max_tokens
        self.input_tokens = input_tokens
        self.started = 0
        self.cancelled = 0
        self.requests: list[GenerateRequest] = []

    def _count(self, request: GenerateRequest) -> int:
        if self.honour_max_tokens:
            return min(self.pieces, request.max_tokens)
        return self.pieces

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        self.requests.append(request)
        self.started += 1
        count = self._count(request)
        try:
            await asyncio.sleep(self.delay_s * count)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        text = " ".join(f"w{i}" for i in range(count))
        finish = FinishReason.LENGTH if count == request.max_tokens else FinishReason.STOP
        return GenerateResult(
            model=self.name,
            choices=(Choice(text, finish),),
            usage=Usage(self.input_tokens, count),
            latency_s=0.0,
            mode=Mode.CHAT,
            endpoint=self.endpoint,
        )

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamDelta]:
        self.requests.append(request)
        self.started += 1
        count = self._count(request)
        try:
            for i in range(count):
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                yield StreamDelta(text=f"w{i} ")
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise
        finish = FinishReason.LENGTH if count >= request.max_tokens else FinishReason.STOP
        yield StreamDelta(finish_reason=finish, usage=Usage(self.input_tokens, count))

    async def aclose(self) -> None:
        return None
