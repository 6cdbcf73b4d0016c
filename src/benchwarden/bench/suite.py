"""What a suite is: items, how each is prompted, and how each answer is scored.

Items and scores are plain, JSON-friendly data so that a unit of work can be
serialized, stored beside its answer, and later shipped to other workers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import Message, Mode, Usage

# Given the run's judge clients (by name, the deciding judge first), its purpose and
# the names of the judges that label every answer (``--judge``; a judge named only as
# the decider is asked only where the scorer needs it), the scorer that also asks them
# (see Suite.judged).
JudgedScorerFactory = Callable[[Mapping[str, ModelClient], str, frozenset[str]], "Scorer"]


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to ask. ``messages`` serve chat models; ``prompt`` (raw text to
    continue) serves base models in completion mode; either may be derived from the
    other. ``stop`` applies in completion mode only (a chat model stops itself)."""

    id: str
    messages: tuple[Message, ...] = ()
    system: str | None = None
    prompt: str | None = None
    target: Any = None
    stop: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("an item needs a non-empty id")
        if not self.messages and self.prompt is None:
            raise ValueError(f"item {self.id!r} needs messages or a prompt")


@dataclass(frozen=True, slots=True)
class Score:
    """``value`` in [0, 1]; ``passed`` when the score is a pass/fail verdict."""

    value: float
    passed: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Scorer(Protocol):
    @property
    def name(self) -> str: ...

    def __call__(self, item: Item, answer: str) -> Score: ...


@dataclass(frozen=True, slots=True)
class EpisodeContext:
    """What the runner passes to a multi-call unit of work (see :class:`Episode`)."""

    mode: Mode
    purpose: str
    seed: int | None
    epoch: int
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    price: Callable[[Usage], float] = lambda usage: 0.0


@dataclass(frozen=True, slots=True)
class EpisodeOutcome:
    """A finished episode: the answer kept (for agents, the final diff), its totals, its
    score, and what to store beside it (the trajectory)."""

    answer: str
    usage: Usage
    cost: float
    latency_s: float
    score: Score
    finish_reason: str = "stop"
    metadata: dict[str, Any] = field(default_factory=dict)


class Episode(Protocol):
    """Suites whose unit of work is many model calls (an agent working on an exercise)
    give one: the runner calls it instead of a single ``generate``. Infrastructure
    failures propagate as ``ModelError``; the outcome is recorded only when it is over."""

    async def __call__(
        self, client: ModelClient, item: Item, context: EpisodeContext
    ) -> EpisodeOutcome: ...


@dataclass(frozen=True, slots=True)
class Suite:
    """A named set of items and the scorer for them.

    ``load`` is called lazily (data may need fetching); ``version`` changes whenever
    items, prompts or scoring change, so stored results say what they measured.
    """

    name: str
    description: str
    load: Callable[[], Sequence[Item]]
    scorer: Scorer
    version: str = "1"
    max_tokens: int = 256
    tags: tuple[str, ...] = ()
    source: str = "built-in"
    # Suites whose answers LLM judges can also score (``--judge``): the scorer to use
    # when the run names judges. None: judges do not apply to this suite's answers.
    judged: JudgedScorerFactory | None = None
    # Multi-call units of work (agentic suites); None: one call per sample.
    episode: Episode | None = None
