"""What an attempt is made of and how it ends: limits, steps, end reasons, failure kinds.

Plain data and pure decisions, shared by both protocols (``edit`` and ``tools``), the
runner that stores an attempt, and the report that reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from benchwarden.models.types import Usage

END_REASONS = (
    "done",  # the model stopped calling tools (tools) or the tries were used (edit)
    "step_limit",
    "token_limit",
    "cost_limit",
    "time_limit",
    "context_exceeded",  # the conversation outgrew the model's context window
    "disk_limit",  # the workspace grew past its disk allowance
)

FAILURE_KINDS = (
    "compile_error",
    "tests_failed",
    "timeout",
    "step_limit",
    "token_limit",
    "cost_limit",
    "time_limit",
    "context_exceeded",
    "disk_limit",
    "no_answer",
)
"""Why an unsolved attempt failed, as reports group them."""

MAX_STEP_INPUT_CHARS = 2_000
MAX_STEP_OUTPUT_CHARS = 4_000


@dataclass(frozen=True, slots=True)
class AttemptLimits:
    """Bounds of one attempt. ``active_seconds`` counts model calls and commands, not
    time spent queued behind other attempts, so a busy machine does not fail a model."""

    max_steps: int = 30
    max_tokens: int = 400_000
    max_cost: float | None = None
    active_seconds: float = 900.0
    answer_tokens: int = 4_096
    output_chars: int = 6_000  # tool and test output shown to the model

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


LIMIT_FIELDS = ("max_steps", "max_tokens", "max_cost", "active_seconds")
"""The limits a run may set (the rest are the protocols' own)."""


def attempt_limits(values: Mapping[str, float]) -> AttemptLimits:
    """Pure: limits from a run's settings; unknown names or non-positive values refused."""
    unknown = sorted(set(values) - set(LIMIT_FIELDS))
    if unknown:
        raise ValueError(f"unknown attempt limit {', '.join(unknown)}: use {LIMIT_FIELDS}")
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"attempt limit {name} must be positive, got {value}")
    typed: dict[str, Any] = {
        k: int(v) if k in ("max_steps", "max_tokens") else float(v) for k, v in values.items()
    }
    return AttemptLimits(**typed)


@dataclass(slots=True)
class Step:
    """One step of a trajectory: a model call, a tool run, or a test run."""

    index: int
    kind: str  # "model" | "tool" | "tests"
    name: str = ""  # the tool's name, the test outcome
    input: str = ""  # the call's arguments or the command, cut
    output: str = ""  # what the model said or the tool printed, cut
    ok: bool = True
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            k: v
            for k, v in data.items()
            if k in ("index", "ok") or v not in ("", 0, 0.0)  # False is kept: a failed step
        }


def cut(text: str, limit: int, *, keep: str = "tail") -> str:
    """Pure: ``text`` within ``limit`` characters, saying how much was cut.

    Test output keeps its tail (failures are printed last); a command keeps its head.
    """
    if len(text) <= limit:
        return text
    dropped = len(text) - limit
    if keep == "head":
        return f"{text[:limit]}\n[... {dropped} characters cut]"
    return f"[... {dropped} characters cut]\n{text[-limit:]}"


@dataclass(slots=True)
class Tally:
    """Running totals of an attempt, checked against its limits after every step."""

    limits: AttemptLimits
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    active_seconds: float = 0.0
    model_calls: int = 0

    def add_call(self, usage: Usage, cost: float, seconds: float) -> None:
        self.usage = self.usage + usage
        self.cost += cost
        self.active_seconds += seconds
        self.model_calls += 1

    def add_time(self, seconds: float) -> None:
        self.active_seconds += seconds

    def exceeded(self, steps: int) -> str | None:
        """Pure over the totals: the limit that ends the attempt now, if any."""
        if steps >= self.limits.max_steps:
            return "step_limit"
        if self.usage.total_tokens >= self.limits.max_tokens:
            return "token_limit"
        if self.limits.max_cost is not None and self.cost >= self.limits.max_cost:
            return "cost_limit"
        if self.active_seconds >= self.limits.active_seconds:
            return "time_limit"
        return None


def failure_kind(passed: bool, outcome: str, end_reason: str, changed: bool) -> str | None:
    """Pure: why an attempt failed (None when it passed).

    No change to the solution is ``no_answer`` whatever else happened; a build or test
    run that did not finish says so; otherwise a limit that cut the attempt short is
    the reason, and failing tests the rest.
    """
    if passed:
        return None
    if not changed:
        return "no_answer"
    if outcome in ("compile_error", "timeout"):
        return outcome
    if end_reason in FAILURE_KINDS:
        return end_reason
    return "tests_failed"
