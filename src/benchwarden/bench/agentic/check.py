"""Validity first: every reference solution must pass, every untouched stub must fail.

Run per language in the sandbox, several exercises at a time. The counts are what
``benchwarden suites check polyglot`` prints; a language whose toolchain is missing
here is reported as not runnable, with the reason, never dropped.

Refactoring exercises (ledger, tree-building, markdown: "Refactor a ledger printer")
ship working code as their stub, so their stub passes by design: it is counted apart
(``exempt``), never hidden, and never counted as a stub that must fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from benchwarden.bench.agentic.exercises import Exercise
from benchwarden.bench.agentic.toolchains import TOOLCHAINS
from benchwarden.bench.agentic.workspace import TestRun, Workspace


@dataclass(slots=True)
class LanguageCheck:
    language: str
    runnable: bool
    reason: str = ""
    reference_passed: int = 0
    stub_passed: int = 0
    total: int = 0
    # Refactoring exercises whose working stub passed, as it should.
    exempt: list[str] = field(default_factory=list)
    # Exercises whose reference failed or whose stub passed: (exercise, kind, output tail).
    problems: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.runnable and self.reference_passed == self.total and self.stub_passed == 0

    def to_json(self) -> dict[str, object]:
        return {
            "reference": {"passed": self.reference_passed, "total": self.total},
            "stub": {
                "passed": self.stub_passed,
                "total": self.total - len(self.exempt),
                "exempt": len(self.exempt),
            },
            "runnable": self.runnable,
            "reason": self.reason,
        }


_REFACTOR = re.compile(r"^(?:#[^\n]*\n\s*)?Refactor\b")


def is_refactoring(exercise: Exercise) -> bool:
    """Pure: an exercise whose task is to refactor working code (its stub passes)."""
    return bool(_REFACTOR.match(exercise.instructions.lstrip()))


def language_reason(language: str) -> str | None:
    """Why ``language`` cannot run here (None when it can)."""
    toolchain = TOOLCHAINS.get(language)
    if toolchain is None:
        return "no toolchain is wired for this language yet"
    return toolchain.unavailable()


def _test(exercise: Exercise, reference: bool) -> TestRun:
    toolchain = TOOLCHAINS[exercise.language]
    start = exercise.reference_files() if reference else exercise.stub_files()
    with Workspace(exercise, toolchain, start) as workspace:
        return workspace.run_tests()


def check_exercises(
    exercises: Sequence[Exercise],
    languages: Sequence[str],
    *,
    workers: int = 2,
    on_result: Callable[[str, str, bool], None] | None = None,
) -> dict[str, LanguageCheck]:
    """Run each exercise's reference and stub; the counts per language."""
    checks: dict[str, LanguageCheck] = {}
    jobs: list[tuple[Exercise, bool]] = []
    for language in languages:
        reason = language_reason(language)
        mine = [e for e in exercises if e.language == language]
        checks[language] = LanguageCheck(language, reason is None, reason or "", total=len(mine))
        if reason is None:
            jobs += [(e, kind) for e in mine for kind in (True, False)]

    def one(job: tuple[Exercise, bool]) -> tuple[Exercise, bool, TestRun]:
        return job[0], job[1], _test(*job)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for exercise, reference, run in pool.map(one, jobs):
            check = checks[exercise.language]
            exempt = not reference and run.passed and is_refactoring(exercise)
            if exempt:
                check.exempt.append(exercise.id)
            elif run.passed:
                if reference:
                    check.reference_passed += 1
                else:
                    check.stub_passed += 1
            expected = run.passed == reference or exempt
            if not expected:
                kind = "reference failed" if reference else "stub passed"
                check.problems.append((exercise.id, f"{kind} ({run.outcome})", run.output[-800:]))
            if on_result is not None:
                on_result(exercise.id, "reference" if reference else "stub", expected)
    return checks
