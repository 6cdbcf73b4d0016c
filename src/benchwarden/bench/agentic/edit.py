"""The ``edit`` protocol (Aider's benchmark): instructions and stub files in, whole files
out; the tests run; on failure the model sees their output and tries once more.

Scores: solved at try 1 and solved at try 2, the leaderboard's two figures. The model
can only write solution files (and new files beside them with the same extension);
test and build files are never taken from its answer.
"""

from __future__ import annotations

import re
import time
from pathlib import PurePosixPath

from benchwarden.bench.agentic.attempt import (
    AttemptResult,
    AttemptSetup,
    ContextExceeded,
    base_request,
    call_model,
    in_sandbox,
)
from benchwarden.bench.agentic.exercises import Exercise
from benchwarden.bench.agentic.toolchains import TOOLCHAINS
from benchwarden.bench.agentic.trajectory import MAX_STEP_OUTPUT_CHARS, Step, Tally, cut
from benchwarden.bench.agentic.workspace import TestRun, Workspace
from benchwarden.bench.sandbox import workspace_files as files
from benchwarden.bench.sandbox.shell import prepare_workspace
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import Message

TRIES = 2

_FENCE = re.compile(r"^(`{3,})([^\n`]*)\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_NAME_NOISE = re.compile(r"^[#>*`\s-]*(?:file(?:name)?\s*:\s*)?|[*`:\s]*$", re.IGNORECASE)


def file_list(exercise: Exercise) -> str:
    return " ".join(sorted(exercise.solution))


def edit_prompt(exercise: Exercise) -> str:
    """Pure: the first message (Aider's wording, with the whole-file answer format)."""
    names = file_list(exercise)
    shown = "\n\n".join(
        f"{path}\n```\n{text.rstrip()}\n```" for path, text in sorted(exercise.solution.items())
    )
    return (
        f"{exercise.instructions}\n\n"
        f"Use the above instructions to modify the supplied files: {names}\n"
        "Don't change the names of existing functions or classes, as they may be "
        "referenced from other code like unit tests, etc.\n"
        "Only use standard libraries, don't suggest installing any packages.\n\n"
        "Answer with the complete new content of every file you change: its path on a "
        "line of its own, then the whole file in a fenced code block.\n\n"
        f"{shown}\n"
    )


def feedback_prompt(exercise: Exercise, test_output: str, limit: int) -> str:
    """Pure: the second try's message, with the first try's test output cut to ``limit``."""
    return (
        f"{cut(test_output, limit)}\n\n"
        "See the testing errors above. The tests are correct, don't try and change them. "
        f"Fix the code in {file_list(exercise)} to resolve the errors."
    )


def _name_before(text: str, start: int) -> str:
    """The last non-empty line before ``start``, without markdown decoration."""
    for line in reversed(text[:start].splitlines()[-3:]):
        name = _NAME_NOISE.sub("", line.strip())
        if name:
            return name
    return ""


def writable(path: str, exercise: Exercise) -> bool:
    """Pure: may the model's answer write ``path``? Solution files, and new files in a
    solution file's folder with its extension (a helper class) unless test files live
    there too; never tests or build files."""
    if path in exercise.solution:
        return True
    if path in exercise.tests or path in exercise.support:
        return False
    new = PurePosixPath(path)
    if ".." in new.parts or new.is_absolute():
        return False
    if new.parent in {PurePosixPath(t).parent for t in exercise.tests}:
        return False  # a new file beside the tests could be a test (or disarm them)
    return any(
        new.parent == PurePosixPath(s).parent and new.suffix == PurePosixPath(s).suffix
        for s in exercise.solution
    )


def parse_whole_files(answer: str, exercise: Exercise) -> dict[str, str]:
    """Pure: the files an answer gives, by workspace path.

    A block is named by the line before it (or its fence's info string) and matched to a
    solution file by path, then by file name; with a single solution file and no named
    block, the longest unnamed block is that file. Blocks naming no writable file are
    ignored.
    """
    by_name: dict[str, list[str]] = {}
    for path in exercise.solution:
        by_name.setdefault(PurePosixPath(path).name, []).append(path)
    found: dict[str, str] = {}
    unnamed: list[str] = []
    for match in _FENCE.finditer(answer):
        body = match.group(3)
        candidates = [_name_before(answer, match.start()), *match.group(2).split()[1:]]
        info = match.group(2).strip()
        if "/" in info or "." in info:
            candidates.append(info)
        target = None
        for name in candidates:
            if not name:
                continue
            if name in exercise.solution:
                target = name
            elif len(by_name.get(PurePosixPath(name).name, [])) == 1:
                target = by_name[PurePosixPath(name).name][0]
            elif writable(name, exercise):
                target = name
            if target:
                break
        if target is None:
            unnamed.append(body)
        else:
            found[target] = body
    if not found and len(exercise.solution) == 1 and unnamed:
        found[next(iter(exercise.solution))] = max(unnamed, key=len)
    return found


def _write(workspace: Workspace, answer: dict[str, str]) -> None:
    for path, text in answer.items():
        files.write_file(workspace.root, path, text if text.endswith("\n") else text + "\n")
    prepare_workspace(workspace.root, workspace.uid)


def _tests_step(result: AttemptResult, run: TestRun) -> None:
    result.tally.add_time(run.wall_seconds)
    result.steps.append(
        Step(
            index=len(result.steps),
            kind="tests",
            name=run.outcome,
            output=cut(run.output, MAX_STEP_OUTPUT_CHARS),
            ok=run.passed,
            seconds=round(run.wall_seconds, 3),
        )
    )


async def run_edit(client: ModelClient, setup: AttemptSetup) -> AttemptResult:
    """Two tries with whole files; test output after the first."""
    exercise = setup.exercise
    toolchain = TOOLCHAINS[exercise.language]
    result = AttemptResult(protocol="edit", tally=Tally(setup.limits))
    workspace = await in_sandbox(Workspace, exercise, toolchain)
    try:
        messages = [Message("user", edit_prompt(exercise))]
        run: TestRun | None = None
        for attempt in range(1, TRIES + 1):
            limit = result.tally.exceeded(0)
            if limit:
                result.end_reason = limit
                break
            try:
                answer = await call_model(
                    client, base_request(setup, messages=tuple(messages)), setup, result
                )
            except ContextExceeded:
                result.end_reason = "context_exceeded"
                break
            result.last_text = answer.text
            written = parse_whole_files(answer.text, exercise)
            start = time.perf_counter()
            await in_sandbox(_write, workspace, written)
            result.steps.append(
                Step(
                    index=len(result.steps),
                    kind="tool",
                    name="write_files",
                    input=", ".join(sorted(written)) or "(no file in the answer)",
                    ok=bool(written),
                    seconds=round(time.perf_counter() - start, 3),
                )
            )
            run = await in_sandbox(workspace.run_tests)
            _tests_step(result, run)
            result.tries.append(
                {
                    "try": attempt,
                    "outcome": run.outcome,
                    "passed": run.passed,
                    "files": len(written),
                }
            )
            if run.passed:
                break
            messages += [
                Message("assistant", answer.text),
                Message("user", feedback_prompt(exercise, run.output, setup.limits.output_chars)),
            ]
        if run is None:  # no try was made: the stub is what is scored
            run = await in_sandbox(workspace.run_tests)
        result.final = run
        result.diff = await in_sandbox(workspace.solution_diff)
    finally:
        await in_sandbox(workspace.close)
    return result
