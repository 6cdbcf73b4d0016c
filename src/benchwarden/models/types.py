"""Plain data that crosses the model-client line: requests, results, stream deltas.

Everything here is immutable and JSON-friendly so a request can be hashed for the
cache, shipped to another process, or stored beside its answer as provenance.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from benchwarden.models.content import (
    Part,
    Reasoning,
    ReasoningConfig,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
    part_from_dict,
    part_to_dict,
)

Role = Literal["system", "user", "assistant"]


class Mode(enum.StrEnum):
    """How the prompt reaches the model.

    Chat uses the model's own chat template (or the provider's chat API); completion
    sends raw text to continue, which is what base models such as Gemma 3 270M need.
    """

    CHAT = "chat"
    COMPLETION = "completion"


class FinishReason(enum.StrEnum):
    STOP = "stop"
    LENGTH = "length"
    CONTENT_FILTER = "content_filter"
    TOOL_CALLS = "tool_calls"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. ``content`` is its text; ``parts``, when set, is the whole turn in
    order (text, images, tool calls, tool results, reasoning) and is the truth."""

    role: Role
    content: str
    parts: tuple[Part, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.parts:
            data["parts"] = [part_to_dict(p) for p in self.parts]
        return data


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """One generation call, the same for every provider.

    ``prompt`` is for completion mode; chat mode uses ``messages`` and ``system``.
    ``epoch`` is not sent to the model: it separates otherwise identical samples in
    the cache so repeated sampling is not served one cached answer. ``item_id`` is not
    sent either: it names the suite item asked about, so recorded answers can be looked
    up by it (the replay provider); it is not part of the cache key.
    """

    messages: tuple[Message, ...] = ()
    system: str | None = None
    prompt: str | None = None
    max_tokens: int = 256
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    n: int = 1
    mode: Mode | None = None
    epoch: int = 0
    purpose: str | None = None
    item_id: str | None = None
    # The answer must be exactly one of these strings (a judge's label). Embedded
    # models are constrained by a grammar; remote providers get only the instructions
    # the prompt already carries, so callers still parse the answer.
    choices: tuple[str, ...] = ()
    # Agents: tools the model may call, how it must choose, how much it may think, and
    # a JSON schema its answer must follow (``{"name", "schema", "strict"}``).
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None
    reasoning: ReasoningConfig | None = None
    response_format: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be within [0, 2], got {self.temperature}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be within (0, 1], got {self.top_p}")
        if not self.messages and self.prompt is None:
            raise ValueError("a request needs messages (chat) or a prompt (completion)")

    @classmethod
    def from_prompt(cls, text: str, **kwargs: Any) -> GenerateRequest:
        """A single user turn; the client decides chat or completion from the model."""
        return cls(messages=(Message("user", text),), **kwargs)

    def sampling_params(self) -> dict[str, Any]:
        """The parameters that change the answer (for caching and provenance)."""
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": list(self.stop),
            "seed": self.seed,
            "n": self.n,
            # Only when set, so that the keys of earlier cached answers do not change.
            **({"choices": list(self.choices)} if self.choices else {}),
            **({"tools": [asdict(t) for t in self.tools]} if self.tools else {}),
            **({"tool_choice": asdict(self.tool_choice)} if self.tool_choice else {}),
            **({"reasoning": asdict(self.reasoning)} if self.reasoning else {}),
            **({"response_format": self.response_format} if self.response_format else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["messages"] = [m.to_dict() for m in self.messages]
        data["stop"] = list(self.stop)
        data["mode"] = self.mode.value if self.mode else None
        return data


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one call. ``cached_input_tokens`` (read from a prompt cache) and
    ``cache_write_tokens`` are part of ``input_tokens``; ``reasoning_tokens`` are part of
    ``output_tokens``."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        data = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        for name in ("cached_input_tokens", "reasoning_tokens", "cache_write_tokens"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data


@dataclass(frozen=True, slots=True)
class Choice:
    text: str
    finish_reason: FinishReason
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: tuple[Reasoning, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "finish_reason": self.finish_reason.value}
        if self.tool_calls:
            data["tool_calls"] = [part_to_dict(c) for c in self.tool_calls]
        if self.reasoning:
            data["reasoning"] = [part_to_dict(r) for r in self.reasoning]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Choice:
        calls = tuple(part_from_dict(c) for c in data.get("tool_calls", ()))
        thoughts = tuple(part_from_dict(r) for r in data.get("reasoning", ()))
        return cls(
            data["text"],
            FinishReason(data["finish_reason"]),
            tuple(c for c in calls if isinstance(c, ToolCall)),
            tuple(r for r in thoughts if isinstance(r, Reasoning)),
        )


@dataclass(frozen=True, slots=True)
class GenerateResult:
    """What came back. ``choices`` has ``n`` entries; ``text`` is the first."""

    model: str
    choices: tuple[Choice, ...]
    usage: Usage
    latency_s: float
    mode: Mode
    endpoint: str
    cached: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.choices[0].text if self.choices else ""

    @property
    def finish_reason(self) -> FinishReason:
        return self.choices[0].finish_reason if self.choices else FinishReason.OTHER

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.choices[0].tool_calls if self.choices else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "choices": [c.to_dict() for c in self.choices],
            "usage": self.usage.to_dict(),
            "latency_s": self.latency_s,
            "mode": self.mode.value,
            "endpoint": self.endpoint,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, cached: bool = False) -> GenerateResult:
        return cls(
            model=data["model"],
            choices=tuple(Choice.from_dict(c) for c in data["choices"]),
            usage=Usage(**data["usage"]),
            latency_s=float(data["latency_s"]),
            mode=Mode(data["mode"]),
            endpoint=data["endpoint"],
            cached=cached,
            metadata=dict(data.get("metadata", {})),
        )


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """One piece of a streamed answer. The last delta carries finish reason and usage.

    Besides text, a piece may be thinking (``reasoning``; ``reasoning_signature`` or
    ``reasoning_encrypted`` close a thinking block with its opaque data) or a piece of
    a tool call (``tool_call``)."""

    text: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    reasoning: str = ""
    reasoning_signature: str | None = None
    reasoning_encrypted: str | None = None
    tool_call: ToolCallDelta | None = None


def map_finish_reason(raw: str | None) -> FinishReason:
    """Provider vocabularies (OpenAI, Anthropic, llama.cpp) onto one."""
    if raw in ("stop", "end_turn", "stop_sequence"):
        return FinishReason.STOP
    if raw in ("length", "max_tokens"):
        return FinishReason.LENGTH
    if raw in ("content_filter", "refusal"):
        return FinishReason.CONTENT_FILTER
    if raw in ("tool_calls", "tool_use", "function_call"):
        return FinishReason.TOOL_CALLS
    return FinishReason.OTHER
