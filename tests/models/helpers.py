"""Opening a transport on a scripted server, and putting a stream back together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from benchwarden.models.config import ModelSpec
from benchwarden.models.content import Reasoning, ToolCall
from benchwarden.models.factory import open_client
from benchwarden.models.pacing.retry import RetryPolicy
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import FinishReason, StreamDelta, Usage
from tests.models.scripted_server import ScriptedServer

FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01, time_budget_s=10.0, attempt_timeout_s=5.0)


def client_for(server: ScriptedServer, provider: str, model: str, **spec_args: Any) -> ModelClient:
    base = server.base_url + ("/v1" if provider == "openai" else "")
    spec = ModelSpec(
        name=f"test-{model}",
        provider=provider,  # type: ignore[arg-type]
        upstream_model=model,
        base_url=base,
        **spec_args,
    )
    return open_client(spec, use_cache=False, policy=FAST)


@dataclass
class Assembled:
    text: str = ""
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    reasoning: list[Reasoning] = field(default_factory=list)
    finish: FinishReason | None = None
    usage: Usage | None = None
    _thinking: str = ""

    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(c["id"], c["name"], c["arguments"], kind=c["kind"])
            for _, c in sorted(self.calls.items())
        ]


def assemble(deltas: list[StreamDelta], provider: str = "anthropic") -> Assembled:
    out = Assembled()
    for d in deltas:
        out.text += d.text
        out._thinking += d.reasoning
        if d.reasoning_signature is not None or d.reasoning_encrypted is not None:
            out.reasoning.append(
                Reasoning(
                    text=out._thinking,
                    signature=d.reasoning_signature,
                    encrypted=d.reasoning_encrypted,
                    provider=provider,
                )
            )
            out._thinking = ""
        if d.tool_call is not None:
            piece = d.tool_call
            call = out.calls.setdefault(
                piece.index, {"id": "", "name": "", "arguments": "", "kind": piece.kind}
            )
            call["id"] = piece.id or call["id"]
            call["name"] = piece.name or call["name"]
            call["arguments"] += piece.arguments
            call["kind"] = piece.kind if piece.id else call["kind"]
        if d.finish_reason is not None:
            out.finish, out.usage = d.finish_reason, d.usage
    return out


async def collect(stream: AsyncIterator[StreamDelta]) -> list[StreamDelta]:
    return [d async for d in stream]
