"""The ``tools`` protocol: a model with a shell and file tools in the exercise's sandboxed
workspace, in a loop, in the manner of mini-swe-agent.

Models reached in chat mode get the tools through the model layer's native tool
calling; base models (completion mode) get a plain text protocol: one shell command
per turn in a fenced block. The loop ends when the model stops calling tools or a
limit is hit (the reason is recorded). The final tests run in a fresh workspace made of
the pristine exercise and only the solution files, so editing the tests, adding a test
file or changing the build gains nothing (test edits are recorded).
"""

from __future__ import annotations

import re

from benchwarden.bench.agentic.attempt import (
    AttemptResult,
    AttemptSetup,
    ContextExceeded,
    base_request,
    call_model,
    in_sandbox,
)
from benchwarden.bench.agentic.edit import writable
from benchwarden.bench.agentic.exercises import Exercise
from benchwarden.bench.agentic.toolchains import TOOLCHAINS
from benchwarden.bench.agentic.tools import (
    AGENT_TOOLS,
    ToolOutcome,
    describe_call,
    execute,
    shell_call_from_text,
)
from benchwarden.bench.agentic.trajectory import MAX_STEP_OUTPUT_CHARS, Step, Tally, cut
from benchwarden.bench.agentic.workspace import BUILD_DIRS, Workspace
from benchwarden.bench.sandbox import workspace_files as files
from benchwarden.models.content import Part, TextPart, ToolCall, ToolChoice, ToolResult
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import GenerateResult, Message, Mode

TOOLS_SYSTEM = (
    "You are solving a programming exercise in the folder /workspace, using tools. "
    "Read the files you need, write your solution into the solution files, run the "
    "tests, read the failures and fix them. Do not change the test files: they are "
    "restored before scoring. There is no network and no package installation. When "
    "the tests pass, or you cannot do more, answer without calling a tool."
)

TEXT_SYSTEM = (
    "You are solving a programming exercise in the folder /workspace through a shell. "
    "Each of your replies must contain exactly one shell command in a fenced block:\n"
    "```sh\ncommand\n```\n"
    "You will see its output. Write files with heredocs (cat > file <<'EOF'). Run the "
    "tests with: {test_command}\nDo not change the test files. When the tests pass, "
    "reply with no command."
)

_COMMAND = re.compile(r"```(?:sh|bash|shell|console)?[ \t]*\n(.*?)```", re.DOTALL)


def protocol_for(mode: Mode) -> str:
    """Pure: ``tools`` for models reached in chat mode, ``text`` for base models."""
    return "text" if mode is Mode.COMPLETION else "tools"


def task_prompt(exercise: Exercise) -> str:
    """Pure: the task: instructions, the files to change (with their stubs), the tests."""
    stubs = "\n\n".join(
        f"{path}\n```\n{text.rstrip()}\n```" for path, text in sorted(exercise.solution.items())
    )
    tests = ", ".join(sorted(exercise.tests))
    return (
        f"{exercise.instructions}\n\n"
        f"Complete the solution in: {', '.join(sorted(exercise.solution))}. The tests are "
        f"in: {tests}. Don't change the names of existing functions or classes.\n\n{stubs}\n"
    )


def command_in(text: str) -> str | None:
    """Pure: the text protocol's command (the last fenced block), or None when done."""
    blocks = [b.strip() for b in _COMMAND.findall(text)]
    blocks = [b for b in blocks if b]
    return blocks[-1] if blocks else None


def _assistant_turn(answer: GenerateResult, calls: tuple[ToolCall, ...]) -> Message:
    choice = answer.choices[0] if answer.choices else None
    parts: list[Part] = list(choice.reasoning) if choice else []
    if answer.text:
        parts.append(TextPart(answer.text))
    parts += calls
    return Message("assistant", answer.text, parts=tuple(parts))


async def _run_call(
    workspace: Workspace, call: ToolCall, setup: AttemptSetup, result: AttemptResult
) -> ToolOutcome:
    outcome = await in_sandbox(execute, workspace, call, setup.limits.output_chars)
    result.tally.add_time(outcome.seconds)
    result.steps.append(
        Step(
            index=len(result.steps),
            kind="tool",
            name=call.name,
            input=describe_call(call),
            output=cut(outcome.output, MAX_STEP_OUTPUT_CHARS),
            ok=not outcome.is_error,
            seconds=round(outcome.seconds, 3),
        )
    )
    return outcome


def _tool_steps(result: AttemptResult) -> int:
    return sum(s.kind == "tool" for s in result.steps)


async def _native_loop(
    client: ModelClient, setup: AttemptSetup, workspace: Workspace, result: AttemptResult
) -> None:
    messages = [Message("user", task_prompt(setup.exercise))]
    while True:
        limit = result.tally.exceeded(_tool_steps(result))
        if limit:
            result.end_reason = limit
            return
        request = base_request(
            setup,
            messages=tuple(messages),
            system=TOOLS_SYSTEM,
            tools=AGENT_TOOLS,
            tool_choice=ToolChoice("auto"),
        )
        answer = await call_model(client, request, setup, result)
        result.last_text = answer.text
        calls = answer.tool_calls
        if not calls:
            result.end_reason = "done"
            return
        messages.append(_assistant_turn(answer, calls))
        outputs: list[Part] = []
        for call in calls:
            outcome = await _run_call(workspace, call, setup, result)
            outputs.append(ToolResult(call.id, outcome.output, outcome.is_error))
        messages.append(Message("user", "", parts=tuple(outputs)))
        if await in_sandbox(workspace.over_disk_limit):
            result.end_reason = "disk_limit"
            return


async def _text_loop(
    client: ModelClient, setup: AttemptSetup, workspace: Workspace, result: AttemptResult
) -> None:
    toolchain = TOOLCHAINS[setup.exercise.language]
    system = TEXT_SYSTEM.format(test_command=toolchain.test_script)
    messages = [Message("user", task_prompt(setup.exercise))]
    while True:
        limit = result.tally.exceeded(_tool_steps(result))
        if limit:
            result.end_reason = limit
            return
        request = base_request(setup, messages=tuple(messages), system=system)
        answer = await call_model(client, request, setup, result)
        result.last_text = answer.text
        command = command_in(answer.text)
        if command is None:
            result.end_reason = "done"
            return
        call = shell_call_from_text(command, len(result.steps))
        outcome = await _run_call(workspace, call, setup, result)
        messages += [Message("assistant", answer.text), Message("user", outcome.output)]
        if await in_sandbox(workspace.over_disk_limit):
            result.end_reason = "disk_limit"
            return


async def run_tools(client: ModelClient, setup: AttemptSetup) -> AttemptResult:
    """The agent loop until the model stops or a limit is hit; then the restored tests."""
    protocol = protocol_for(setup.mode)
    result = AttemptResult(protocol=protocol, tally=Tally(setup.limits))
    exercise = setup.exercise
    workspace = await in_sandbox(Workspace, exercise, TOOLCHAINS[exercise.language])
    try:
        loop = _text_loop if protocol == "text" else _native_loop
        try:
            await loop(client, setup, workspace, result)
        except ContextExceeded:
            result.end_reason = "context_exceeded"
        result.tests_modified = await in_sandbox(workspace.tests_modified)
        solution = await in_sandbox(solution_files, workspace, exercise)
    finally:
        await in_sandbox(workspace.close)
    # Scored in a fresh workspace: the pristine exercise plus only the solution files,
    # so nothing else the agent left (an extra test file, a changed build file) counts.
    scored = await in_sandbox(
        Workspace, exercise, TOOLCHAINS[exercise.language], {**exercise.stub_files(), **solution}
    )
    try:
        final = await in_sandbox(scored.run_tests)
        result.tally.add_time(final.wall_seconds)
        result.final = final
        result.diff = await in_sandbox(scored.solution_diff)
    finally:
        await in_sandbox(scored.close)
    return result


def solution_files(workspace: Workspace, exercise: Exercise) -> dict[str, str]:
    """The files of ``workspace`` the score may take: solution files, and new files beside
    them with their extension (``edit.writable``); every other file is left behind."""
    kept: dict[str, str] = {}
    for path in files.walk_files(workspace.root, skip_dirs=BUILD_DIRS):
        if writable(path, exercise):
            data = files.read_file(workspace.root, path)
            if data is not None:
                kept[path] = data.decode("utf-8", "replace")
    return kept
