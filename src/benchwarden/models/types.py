"""Plain data that crosses the model-client line: requests, results, stream deltas.

Everything here is immutable and JSON-friendly so a request can be hashed for the
cache, shipped to another process, or stored beside its answer as provenance.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """One generation call, the same for every provider.

    ``prompt`` is for completion mode; chat mode uses ``messages`` and ``system``.
    ``epoch`` is not sent to the model: it separates otherwise identical samples in
    the cache so repeated sampling is not served one cached answer.
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
    # The answer must be exactly one of these strings (a judge's label). Embedded
    # models are constrained by a grammar; remote providers get only the instructions
    # the prompt already carries, so callers still parse the answer.
    choices: tuple[str, ...] = ()

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
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["messages"] = [asdict(m) for m in self.messages]
        data["stop"] = list(self.stop)
        data["mode"] = self.mode.value if self.mode else None
        return data


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True, slots=True)
class Choice:
    text: str
    finish_reason: FinishReason


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "choices": [
                {"text": c.text, "finish_reason": c.finish_reason.value} for c in self.choices
            ],
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
            },
            "latency_s": self.latency_s,
            "mode": self.mode.value,
            "endpoint": self.endpoint,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, cached: bool = False) -> GenerateResult:
        return cls(
            model=data["model"],
            choices=tuple(
                Choice(c["text"], FinishReason(c["finish_reason"])) for c in data["choices"]
            ),
            usage=Usage(**data["usage"]),
            latency_s=float(data["latency_s"]),
            mode=Mode(data["mode"]),
            endpoint=data["endpoint"],
            cached=cached,
            metadata=dict(data.get("metadata", {})),
        )


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """One piece of a streamed answer. The last delta carries finish reason and usage."""

    text: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None


def map_finish_reason(raw: str | None) -> FinishReason:
    """Provider vocabularies (OpenAI, Anthropic, llama.cpp) onto one."""
    if raw in ("stop", "end_turn", "stop_sequence"):
        return FinishReason.STOP
    if raw in ("length", "max_tokens"):
        return FinishReason.LENGTH
    if raw in ("content_filter", "refusal"):
        return FinishReason.CONTENT_FILTER
    return FinishReason.OTHER
