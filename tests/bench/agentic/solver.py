"""Scripted models on loopback that work polyglot exercises through the real transports.

A real HTTP server (OpenAI Chat Completions) plays the model: it reads which exercise
the conversation is about from the prompt (the solution files it names) and answers
by a policy: solve with the reference, fail first then fix, edit the tests, or run
hostile commands. What it sends back is what a real model would: whole files in fenced
blocks (edit) or tool calls (tools).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchwarden.bench.agentic.exercises import Exercise
from tests.models.scripted_server import Recorded, Reply, ScriptedServer

_CALL_IDS = itertools.count(1)  # unique across turns, as real models make them
_NAMES = re.compile(
    r"(?:modify the supplied files|Complete the solution in): ([^\n]+?)(?:\n|\. The tests)"
)


def completion(text: str = "", calls: Sequence[tuple[str, dict[str, Any]]] = ()) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = [
            {
                "id": f"call_{next(_CALL_IDS)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for name, args in calls
        ]
    return Reply(
        body={
            "id": "chatcmpl-solver",
            "object": "chat.completion",
            "model": "solver",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }
    )


def whole_files(files: dict[str, str]) -> str:
    return "Here is the solution.\n\n" + "\n\n".join(
        f"{path}\n```\n{text}\n```" for path, text in files.items()
    )


Policy = Callable[[Exercise, list[dict[str, Any]]], Reply]


def _first_user_text(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def tool_results(messages: list[dict[str, Any]]) -> int:
    return sum(m.get("role") == "tool" for m in messages)


class Solver:
    """One server; the policy for each model name (the request's ``model`` field)."""

    def __init__(
        self, exercises: Sequence[Exercise], policies: dict[str, Policy], delay_s: float = 0.0
    ) -> None:
        self.by_files = {" ".join(sorted(e.solution)): e for e in exercises}
        self.policies = policies
        self.delay_s = delay_s  # think time per answer (keeps a run long enough to kill)
        self.server = ScriptedServer(self._respond)

    def _respond(self, recorded: Recorded) -> Reply:
        if self.delay_s:
            time.sleep(self.delay_s)
        body = recorded.body
        messages = body.get("messages", [])
        match = _NAMES.search(_first_user_text(messages))
        names = match.group(1).replace(",", " ").split() if match else []
        exercise = self.by_files.get(" ".join(sorted(names)))
        if exercise is None:
            return Reply(status=400, body={"error": {"message": f"unknown exercise {names}"}})
        return self.policies[body["model"]](exercise, messages)

    def __enter__(self) -> Solver:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    @property
    def base_url(self) -> str:
        return self.server.base_url


# Edit protocol: the first message is the task; after a failed try, three messages.


def edit_solves(exercise: Exercise, messages: list[dict[str, Any]]) -> Reply:
    return completion(whole_files(exercise.reference))


def edit_fails_then_fixes(exercise: Exercise, messages: list[dict[str, Any]]) -> Reply:
    if len([m for m in messages if m.get("role") == "user"]) == 1:
        broken = {p: t + "\n# not done yet\n" for p, t in exercise.solution.items()}
        return completion(whole_files(broken))
    assert "See the testing errors above" in str(messages[-1].get("content"))
    return completion(whole_files(exercise.reference))


# Tools protocol: the number of tool results so far says where the model is.


def tools_solves(exercise: Exercise, messages: list[dict[str, Any]]) -> Reply:
    done = tool_results(messages)
    writes = [("write_file", {"path": p, "content": t}) for p, t in exercise.reference.items()]
    if done == 0:
        return completion(
            "Reading the stub first.",
            [("read_file", {"path": p}) for p in sorted(exercise.solution)],
        )
    if done == len(exercise.solution):
        return completion("", writes)
    if done == len(exercise.solution) + len(writes):
        return completion("", [("run_tests", {})])
    return completion("The tests pass.")


ALWAYS_PASSES = (
    "import unittest\n\n\nclass Cheat(unittest.TestCase):\n"
    "    def test_nothing(self):\n        pass\n"
)


def tools_edits_tests(exercise: Exercise, messages: list[dict[str, Any]]) -> Reply:
    """Writes a wrong solution, then replaces the tests with ones that always pass."""
    done = tool_results(messages)
    if done == 0:
        calls: list[tuple[str, dict[str, Any]]] = [
            ("write_file", {"path": p, "content": t + "\n# wrong\n"})
            for p, t in exercise.solution.items()
        ]
        calls += [("write_file", {"path": p, "content": ALWAYS_PASSES}) for p in exercise.tests]
        return completion("", calls)
    if tool_results(messages) == len(exercise.solution) + len(exercise.tests):
        return completion("", [("run_tests", {})])
    return completion("All tests pass now.")


HOSTILE_COMMANDS = (
    "cat /proc/1/environ; env",
    "bomb() { bomb | bomb & }; bomb; sleep 3; echo still-here",
    "echo pwned > /usr/pwned; echo pwned > /workspace/../../pwned; echo pwned > /tmp/pwned",
)


def tools_hostile(port: int, marker: str) -> Policy:
    """Runs hostile commands (network to ``port``, a fork bomb, writes outside, the
    host's environment), then stops."""
    commands = (
        f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}),"
        f" 2).sendall(b'{marker}')\"",
        *HOSTILE_COMMANDS,
    )

    def policy(exercise: Exercise, messages: list[dict[str, Any]]) -> Reply:
        done = tool_results(messages)
        if done < len(commands):
            return completion("", [("shell", {"command": commands[done]})])
        return completion("Done.")

    return policy


NEUTERS_ASSERTS = (
    "import contextlib\nimport unittest\n\n"
    "for _name in dir(unittest.TestCase):\n"
    "    if _name.startswith('assert'):\n"
    "        setattr(unittest.TestCase, _name, lambda *a, **k: contextlib.nullcontext())\n"
)


def tools_adds_a_test_file(exercise: Exercise, messages: list[dict[str, Any]]) -> Reply:
    """Leaves the tests alone but adds a file that disarms every assertion."""
    done = tool_results(messages)
    if done == 0:
        return completion("", [("write_file", {"path": "aa_test.py", "content": NEUTERS_ASSERTS})])
    if done == 1:
        return completion("", [("run_tests", {})])
    return completion("All tests pass.")
