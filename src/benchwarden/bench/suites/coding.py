"""Coding suites: ``humaneval``, ``humaneval-plus`` and ``mbpp-plus``.

Chat models get an instruction with the signature and docstring and answer in any
shape (see ``coding.extract``); base models continue the prompt in completion mode,
cut by stop sequences. Every program runs in the sandbox against the dataset's
tests; HumanEval+ and MBPP+ report their base and plus tests separately.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from benchwarden.bench.coding.extract import build_program
from benchwarden.bench.coding.harness import check_solution
from benchwarden.bench.coding.problems import CodingProblem, load_problems
from benchwarden.bench.sandbox import SandboxPool
from benchwarden.bench.suite import Item, Score, Suite
from benchwarden.models.types import Message

HUMANEVAL_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ")
MBPP_STOPS = ("\nassert ", "\nif __name__", "\nprint(", "\n\n\n\n")

CHAT_INSTRUCTION = (
    "Complete the following Python function. Reply with the whole function, "
    "including its signature, in one ```python code block.\n\n```python\n{prompt}```"
)
MBPP_INSTRUCTION = (
    "{prompt}\nWrite the Python function `{entry_point}` that does this. Reply with the "
    "code in one ```python code block."
)


def problem_item(problem: CodingProblem) -> Item:
    humaneval = problem.dataset.startswith("humaneval")
    chat = (CHAT_INSTRUCTION if humaneval else MBPP_INSTRUCTION).format(
        prompt=problem.prompt, entry_point=problem.entry_point
    )
    return Item(
        id=problem.task_id,
        messages=(Message("user", chat),),
        prompt=problem.prompt if humaneval else f"{problem.prompt.rstrip()}\n",
        target=problem.entry_point,
        stop=HUMANEVAL_STOPS if humaneval else MBPP_STOPS,
        metadata={"dataset": problem.dataset, "entry_point": problem.entry_point},
    )


@dataclass(slots=True)
class CodeExecutionScorer:
    """Runs the answer's program against the problem's tests in the sandbox.

    The sandbox pool is created on first use in the running event loop and closed by
    the runner through ``aclose``.
    """

    dataset: str
    name: str = "code-execution"
    _problems: dict[str, CodingProblem] = field(default_factory=dict)
    _pool: SandboxPool | None = None
    _lock: asyncio.Lock | None = None

    def problems(self) -> dict[str, CodingProblem]:
        if not self._problems:
            self._problems = {p.task_id: p for p in load_problems(self.dataset)}
        return self._problems

    def __call__(self, item: Item, answer: str) -> Score:
        raise TypeError("code execution is asynchronous; the runner calls ascore")

    async def ascore(self, item: Item, answer: str) -> Score:
        problem = self.problems()[item.id]
        if self._pool is None:
            self._pool = SandboxPool()
        program = build_program(
            problem.prompt if problem.dataset.startswith("humaneval") else "",
            problem.entry_point,
            answer,
        )
        outcome = await check_solution(problem, program, self._pool)
        detail: dict[str, Any] = {
            "error_kind": outcome.error_kind,
            "failing_test": outcome.failing_test,
            "detail": outcome.detail[:500],
            "isolation": outcome.isolation,
        }
        if outcome.base_passed is not None:
            detail["base_passed"] = outcome.base_passed
            detail["plus_passed"] = outcome.plus_passed
        if outcome.warning:
            detail["sandbox_warning"] = outcome.warning
        return Score(1.0 if outcome.passed else 0.0, outcome.passed, detail)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None


def coding_suite(name: str, dataset: str, description: str) -> Suite:
    scorer = CodeExecutionScorer(dataset)
    return Suite(
        name=name,
        description=description,
        load=lambda: [problem_item(p) for p in scorer.problems().values()],
        scorer=scorer,
        version="1",
        max_tokens=512,
        tags=("coding",),
        source="benchwarden.bench.suites.coding",
    )


def coding_suites() -> list[Suite]:
    return [
        coding_suite("humaneval", "humaneval", "HumanEval: 164 Python functions, unit tests"),
        coding_suite(
            "humaneval-plus",
            "humaneval-plus",
            "HumanEval+: 164 functions, base and ~80x more plus tests",
        ),
        coding_suite("mbpp-plus", "mbpp-plus", "MBPP+: 378 Python problems, base and plus tests"),
    ]
