"""One attempt at one exercise: its setup, its result, and the I/O both protocols share
(model calls recorded as steps; sandbox work on a small pool of threads).

The attempt is the runner's unit of work: everything it needs is in
:class:`AttemptSetup` (plain data), and nothing is recorded until it is over, so an
attempt cut short by a crash is simply run again on resume.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from benchwarden.bench.agentic.exercises import Exercise
from benchwarden.bench.agentic.trajectory import (
    MAX_STEP_OUTPUT_CHARS,
    AttemptLimits,
    Step,
    Tally,
    cut,
    failure_kind,
)
from benchwarden.bench.agentic.workspace import TestRun
from benchwarden.models.errors import BadRequest, ModelError
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import GenerateRequest, GenerateResult, Mode, Usage

WORKERS_ENV = "BENCHWARDEN_AGENT_WORKERS"

P = ParamSpec("P")
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None


def sandbox_workers() -> int:
    """How many sandboxed commands run at once (builds are CPU-bound): default 2."""
    try:
        return max(1, int(os.environ.get(WORKERS_ENV, "2")))
    except ValueError:
        return 2


async def in_sandbox(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking sandbox work on the shared pool, whatever the number of attempts."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(sandbox_workers(), thread_name_prefix="bw-agent")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, lambda: fn(*args, **kwargs))


@dataclass(frozen=True, slots=True)
class AttemptSetup:
    """Everything an attempt needs besides the model client."""

    exercise: Exercise
    limits: AttemptLimits
    mode: Mode = Mode.CHAT
    purpose: str | None = None
    seed: int | None = None
    epoch: int = 0
    temperature: float | None = None
    top_p: float | None = None
    price: Callable[[Usage], float] = lambda usage: 0.0


@dataclass(slots=True)
class AttemptResult:
    """An attempt that ran to its end (a limit included)."""

    protocol: str
    tally: Tally
    steps: list[Step] = field(default_factory=list)
    end_reason: str = "done"
    final: TestRun | None = None
    tries: list[dict[str, Any]] = field(default_factory=list)
    tests_modified: list[str] = field(default_factory=list)
    diff: str = ""
    last_text: str = ""

    @property
    def passed(self) -> bool:
        return self.final is not None and self.final.passed

    @property
    def failure(self) -> str | None:
        outcome = self.final.outcome if self.final else "tests_failed"
        return failure_kind(self.passed, outcome, self.end_reason, bool(self.diff))

    def metadata(self) -> dict[str, Any]:
        """What is stored with the sample: the trajectory and how the attempt ended."""
        final = self.final
        return {
            "agentic": {
                "protocol": self.protocol,
                "end_reason": self.end_reason,
                "failure_kind": self.failure,
                "steps": sum(s.kind == "tool" for s in self.steps),
                "model_calls": self.tally.model_calls,
                "active_seconds": round(self.tally.active_seconds, 3),
                "tries": self.tries,
                "tests_modified": self.tests_modified,
                "final_outcome": final.outcome if final else None,
                "final_output": cut(final.output, MAX_STEP_OUTPUT_CHARS) if final else "",
                "limits": self.tally.limits.to_dict(),
            },
            "trajectory": [s.to_dict() for s in self.steps],
        }


def is_context_overflow(error: ModelError) -> bool:
    """Pure: the conversation no longer fits the model (not an infrastructure fault)."""
    if not isinstance(error, BadRequest):
        return False
    if error.code in ("context_length_exceeded", "string_above_max_length"):
        return True
    text = error.message.lower()
    return ("context" in text and "exceed" in text) or "prompt is too long" in text


class ContextExceeded(Exception):
    """Raised inside a protocol when the model's window is full: the attempt ends."""


async def call_model(
    client: ModelClient,
    request: GenerateRequest,
    setup: AttemptSetup,
    result: AttemptResult,
) -> GenerateResult:
    """One model call, counted and recorded as a step. Infrastructure errors propagate
    (the runner records the sample as an error and a resume runs it again)."""
    start = time.perf_counter()
    try:
        answer = await client.generate(request)
    except ModelError as error:
        if is_context_overflow(error):
            raise ContextExceeded(str(error)) from error
        raise
    seconds = time.perf_counter() - start
    result.tally.add_call(answer.usage, setup.price(answer.usage), seconds)
    said = answer.text
    if answer.tool_calls:
        said += "".join(f"\n[calls {c.name}]" for c in answer.tool_calls)
    result.steps.append(
        Step(
            index=len(result.steps),
            kind="model",
            name=answer.finish_reason.value,
            output=cut(said.strip(), MAX_STEP_OUTPUT_CHARS, keep="head"),
            input_tokens=answer.usage.input_tokens,
            output_tokens=answer.usage.output_tokens,
            seconds=round(seconds, 3),
        )
    )
    return answer


def base_request(setup: AttemptSetup, **kwargs: Any) -> GenerateRequest:
    """A request with the attempt's sampling settings (seed, epoch, purpose, mode)."""
    return GenerateRequest(
        max_tokens=setup.limits.answer_tokens,
        temperature=setup.temperature,
        top_p=setup.top_p,
        seed=setup.seed,
        epoch=setup.epoch,
        purpose=setup.purpose,
        mode=setup.mode,
        **kwargs,
    )
