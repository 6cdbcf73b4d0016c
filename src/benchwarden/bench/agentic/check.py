"""Validity first: every reference solution must pass, every untouched stub must fail.

Run per language in the sandbox, several exercises at a time. The counts are what
``benchwarden suites check polyglot`` prints; a language whose toolchain is missing
here is reported as not runnable, with the reason, never dropped.

Refactoring exercises (ledger, tree-building, markdown: "Refactor a ledger printer")
ship working code as their stub, so their stub passes by design: it is counted apart
(``exempt``), never hidden, and never counted as a stub that must fail.

A few references need a newer toolchain than Debian's (Go 1.21's ``slices``, Rust 1.80's
``LazyLock``, crate versions Debian does not package). Each toolchain lists them with
the reason (``Toolchain.known_issues``); when such an exercise does fail its check it is
counted apart as ``unverifiable`` with that reason, so the check is green on what this
machine can verify and says exactly what it cannot. Where a newer toolchain makes one
pass, it counts as a pass like any other.
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
    # Exercises this machine's toolchain cannot verify, as listed: (exercise, why).
    unverifiable: list[tuple[str, str]] = field(default_factory=list)
    # Exercises whose reference failed or whose stub passed: (exercise, kind, output tail).
    problems: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        verified = self.reference_passed + self._unverifiable("reference")
        return self.runnable and verified == self.total and self.stub_passed == 0

    def _unverifiable(self, kind: str) -> int:
        return sum(why.startswith(kind) for _, why in self.unverifiable)

    def to_json(self) -> dict[str, object]:
        return {
            "reference": {
                "passed": self.reference_passed,
                "total": self.total,
                "unverifiable": self._unverifiable("reference"),
            },
            "stub": {
                "passed": self.stub_passed,
                "total": self.total - len(self.exempt),
                "exempt": len(self.exempt),
            },
            "unverifiable": {exercise: why for exercise, why in self.unverifiable},
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


def known_issue(exercise: Exercise, reference: bool) -> str | None:
    """Why this machine cannot verify ``exercise``'s reference (or stub), if listed."""
    why = TOOLCHAINS[exercise.language].known_issues.get(exercise.name)
    kind = "reference fails" if reference else "stub passes"
    return why if why is not None and why.startswith(kind) else None


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
            known = known_issue(exercise, reference) if run.passed != reference else None
            if exempt:
                check.exempt.append(exercise.id)
            elif known is not None:
                check.unverifiable.append((exercise.id, known))
            elif run.passed:
                if reference:
                    check.reference_passed += 1
                else:
                    check.stub_passed += 1
            expected = run.passed == reference or exempt or known is not None
            if not expected:
                kind = "reference failed" if reference else "stub passed"
                check.problems.append((exercise.id, f"{kind} ({run.outcome})", run.output[-800:]))
            if on_result is not None:
                on_result(exercise.id, "reference" if reference else "stub", expected)
    return checks
