"""The agent's tools: their specs (sent through the model layer's native tool calling)
and how each runs against a workspace.

Every command runs inside the sandbox; reads and writes of files go through the
host-side helpers that never follow a link. A tool never raises: a bad call (unknown
tool, arguments that are not JSON, a path outside the workspace) comes back to the
model as an error result it can act on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from benchwarden.bench.agentic.trajectory import MAX_STEP_INPUT_CHARS, cut
from benchwarden.bench.agentic.workspace import Workspace
from benchwarden.bench.sandbox import workspace_files as files
from benchwarden.bench.sandbox.workspace_files import UnsafePath
from benchwarden.models.content import ToolCall, ToolSpec

SHELL = ToolSpec(
    name="shell",
    description=(
        "Run a shell command (sh -c) in the exercise folder /workspace and get its exit "
        "code and output. No network. Each command starts fresh: only files in "
        "/workspace persist."
    ),
    parameters={
        "type": "object",
        "properties": {"command": {"type": "string", "description": "The command to run."}},
        "required": ["command"],
        "additionalProperties": False,
    },
)
READ_FILE = ToolSpec(
    name="read_file",
    description="Read a text file of the exercise (path relative to /workspace).",
    parameters={
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
        "additionalProperties": False,
    },
)
WRITE_FILE = ToolSpec(
    name="write_file",
    description="Create or replace a file with the given content (path relative to /workspace).",
    parameters={
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
        "additionalProperties": False,
    },
)
EDIT_FILE = ToolSpec(
    name="edit_file",
    description=(
        "Replace the one occurrence of `old` in a file by `new` (path relative to "
        "/workspace). Fails when `old` occurs zero or several times."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "old": {"type": "string"},
            "new": {"type": "string"},
        },
        "required": ["path", "old", "new"],
        "additionalProperties": False,
    },
)
RUN_TESTS = ToolSpec(
    name="run_tests",
    description="Build the exercise and run its tests; get the outcome and the output.",
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
)

AGENT_TOOLS = (SHELL, READ_FILE, WRITE_FILE, EDIT_FILE, RUN_TESTS)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a tool call came to: the text the model sees, and whether it failed."""

    output: str
    is_error: bool = False
    seconds: float = 0.0
    test_outcome: str | None = None  # run_tests only


def describe_call(call: ToolCall) -> str:
    """Pure: a short human form of a call for the trajectory (``shell: ls -la``)."""
    try:
        args = call.parsed()
    except ValueError:
        return cut(call.arguments, MAX_STEP_INPUT_CHARS, keep="head")
    if isinstance(args, dict):
        if call.name == "shell":
            text = str(args.get("command", ""))
        elif call.name in ("read_file", "write_file", "edit_file"):
            text = str(args.get("path", ""))
            if call.name == "write_file":
                text += f" ({len(str(args.get('content', '')))} chars)"
        else:
            text = json.dumps(args)
    else:
        text = call.arguments
    return cut(text, MAX_STEP_INPUT_CHARS, keep="head")


def _chown(workspace: Workspace, relative: str) -> None:
    """Hand a host-written file (and the folders made for it) to the attempt's uid."""
    if workspace.uid is None:
        return
    current = workspace.root
    for part in relative.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        current = os.path.join(current, part)  # noqa: PTH118
        os.lchown(current, workspace.uid, workspace.uid)


def _args(call: ToolCall) -> dict[str, Any]:
    args = call.parsed()
    if not isinstance(args, dict):
        raise ValueError("the arguments must be a JSON object")
    return args


def _string(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise ValueError(f"argument {name!r} must be a string")
    return value


def run_command(workspace: Workspace, command: str, output_chars: int) -> ToolOutcome:
    result = workspace.run(command)
    text = result.stdout + result.stderr
    status = f"exit code {result.exit_code}" if result.exit_code is not None else result.verdict
    if result.verdict not in ("ok", "runtime_error"):
        status += f" ({result.verdict})"
    body = cut(text, output_chars) if text else "(no output)"
    return ToolOutcome(f"[{status}]\n{body}", result.verdict != "ok", result.wall_seconds)


def run_tests(workspace: Workspace, output_chars: int) -> ToolOutcome:
    run = workspace.run_tests()
    body = cut(run.output, output_chars) if run.output else "(no output)"
    return ToolOutcome(
        f"[tests: {run.outcome}]\n{body}", not run.passed, run.wall_seconds, run.outcome
    )


def execute(workspace: Workspace, call: ToolCall, output_chars: int) -> ToolOutcome:
    """Run one tool call in ``workspace``. Blocking (commands run in the sandbox)."""
    try:
        args = _args(call)
        if call.name == "shell":
            return run_command(workspace, _string(args, "command"), output_chars)
        if call.name == "run_tests":
            return run_tests(workspace, output_chars)
        if call.name == "read_file":
            path = _string(args, "path")
            data = files.read_file(workspace.root, path)
            if data is None:
                return ToolOutcome(f"no readable file at {path!r}", True)
            return ToolOutcome(cut(data.decode("utf-8", "replace"), output_chars, keep="head"))
        if call.name == "write_file":
            path, content = _string(args, "path"), _string(args, "content")
            files.write_file(workspace.root, path, content)
            _chown(workspace, path)
            return ToolOutcome(f"wrote {len(content)} characters to {path}")
        if call.name == "edit_file":
            path = _string(args, "path")
            old, new = _string(args, "old"), _string(args, "new")
            data = files.read_file(workspace.root, path)
            if data is None:
                return ToolOutcome(f"no readable file at {path!r}", True)
            text = data.decode("utf-8", "replace")
            count = text.count(old) if old else 0
            if count != 1:
                return ToolOutcome(
                    f"`old` occurs {count} times in {path}; it must occur exactly once", True
                )
            files.write_file(workspace.root, path, text.replace(old, new, 1))
            _chown(workspace, path)
            return ToolOutcome(f"edited {path}")
    except UnsafePath as exc:
        return ToolOutcome(str(exc), True)
    except ValueError as exc:  # arguments that are not JSON, or not the right shape
        return ToolOutcome(f"bad arguments for {call.name}: {exc}", True)
    known = ", ".join(t.name for t in AGENT_TOOLS)
    return ToolOutcome(f"unknown tool {call.name!r}; the tools are {known}", True)


def shell_call_from_text(command: str, index: int) -> ToolCall:
    """The text protocol's command as a shell tool call (one trajectory for both)."""
    return ToolCall(id=f"text-{index}", name="shell", arguments=json.dumps({"command": command}))
