"""The agentic harness's pure decisions: limits, failure kinds, answer parsing, prompts."""

from __future__ import annotations

import json

import pytest

from benchwarden.bench.agentic.attempt import is_context_overflow
from benchwarden.bench.agentic.edit import (
    edit_prompt,
    feedback_prompt,
    parse_whole_files,
    writable,
)
from benchwarden.bench.agentic.exercises import Exercise
from benchwarden.bench.agentic.loop import command_in, protocol_for, task_prompt
from benchwarden.bench.agentic.tools import describe_call
from benchwarden.bench.agentic.trajectory import (
    AttemptLimits,
    Step,
    Tally,
    attempt_limits,
    cut,
    failure_kind,
)
from benchwarden.models.content import ToolCall
from benchwarden.models.errors import BadRequest, UpstreamError
from benchwarden.models.types import Mode, Usage

EXERCISE = Exercise(
    language="java",
    name="bank",
    instructions="Open a bank account.",
    solution={"src/main/java/Bank.java": "class Bank {}\n"},
    tests={"src/test/java/BankTest.java": "class BankTest {}\n"},
    reference={"src/main/java/Bank.java": "class Bank { int x; }\n"},
    support={"build.gradle": "apply plugin: 'java'\n"},
)
SINGLE = Exercise(
    language="python",
    name="two",
    instructions="Add.",
    solution={"two.py": "def add(a, b):\n    pass\n"},
    tests={"two_test.py": "import unittest\n"},
    reference={"two.py": "def add(a, b):\n    return a + b\n"},
)


def test_cut_keeps_the_tail_or_the_head_and_says_how_much() -> None:
    assert cut("short", 10) == "short"
    assert cut("abcdefghij", 4) == "[... 6 characters cut]\nghij"
    assert cut("abcdefghij", 4, keep="head") == "abcd\n[... 6 characters cut]"


def test_tally_ends_at_the_first_limit_reached() -> None:
    tally = Tally(AttemptLimits(max_steps=3, max_tokens=100, max_cost=1.0, active_seconds=10))
    assert tally.exceeded(2) is None
    assert tally.exceeded(3) == "step_limit"
    tally.add_call(Usage(60, 40), 0.5, 1.0)
    assert tally.exceeded(0) == "token_limit"
    tally = Tally(AttemptLimits(max_cost=1.0, active_seconds=10))
    tally.add_call(Usage(1, 1), 1.0, 1.0)
    assert tally.exceeded(0) == "cost_limit"
    tally = Tally(AttemptLimits(active_seconds=10))
    tally.add_time(10.0)
    assert tally.exceeded(0) == "time_limit"
    assert tally.model_calls == 0 and Tally(AttemptLimits()).exceeded(0) is None


@pytest.mark.parametrize(
    ("passed", "outcome", "end", "changed", "kind"),
    [
        (True, "passed", "step_limit", True, None),
        (False, "tests_failed", "done", False, "no_answer"),
        (False, "compile_error", "step_limit", True, "compile_error"),
        (False, "timeout", "done", True, "timeout"),
        (False, "tests_failed", "step_limit", True, "step_limit"),
        (False, "tests_failed", "context_exceeded", True, "context_exceeded"),
        (False, "tests_failed", "done", True, "tests_failed"),
    ],
)
def test_failure_kind(passed: bool, outcome: str, end: str, changed: bool, kind: str) -> None:
    assert failure_kind(passed, outcome, end, changed) == kind


def test_attempt_limits_from_run_settings() -> None:
    limits = attempt_limits({"max_steps": 5, "max_cost": 0.25})
    assert limits.max_steps == 5 and isinstance(limits.max_steps, int)
    assert limits.max_cost == 0.25 and limits.active_seconds == AttemptLimits().active_seconds
    with pytest.raises(ValueError, match="unknown attempt limit"):
        attempt_limits({"answer_tokens": 5})
    with pytest.raises(ValueError, match="positive"):
        attempt_limits({"max_steps": 0})


def test_step_keeps_a_failed_flag_and_drops_empty_fields() -> None:
    assert Step(0, "tool", ok=False).to_dict() == {"index": 0, "kind": "tool", "ok": False}
    assert Step(2, "model", output="hi").to_dict() == {
        "index": 2,
        "kind": "model",
        "output": "hi",
        "ok": True,
    }


def test_whole_files_are_matched_by_path_then_name_and_never_to_tests() -> None:
    answer = (
        "Here it is.\n\n**src/main/java/Bank.java**\n```java\nclass Bank { int y; }\n```\n\n"
        "src/test/java/BankTest.java\n```java\nclass BankTest { /* gutted */ }\n```\n\n"
        "Helper.java\n```java\nclass Helper {}\n```\n"
    )
    files = parse_whole_files(answer, EXERCISE)
    assert files == {"src/main/java/Bank.java": "class Bank { int y; }\n"}
    named = parse_whole_files("File: Bank.java\n```\nclass Bank {}\n```\n", EXERCISE)
    assert named == {"src/main/java/Bank.java": "class Bank {}\n"}
    helper = parse_whole_files("src/main/java/Helper.java\n```\nclass H {}\n```\n", EXERCISE)
    assert helper == {"src/main/java/Helper.java": "class H {}\n"}


def test_a_single_unnamed_block_is_the_single_solution_file() -> None:
    answer = "Sure:\n```python\ndef add(a, b):\n    return a + b\n```\n"
    assert parse_whole_files(answer, SINGLE) == {"two.py": "def add(a, b):\n    return a + b\n"}
    assert parse_whole_files("no code at all", SINGLE) == {}
    # Several unnamed blocks (a usage example, then the code): the longest one.
    two = parse_whole_files("```\nx\n```\n```\nyy\n```\n", EXERCISE)
    assert two == {"src/main/java/Bank.java": "yy\n"}


def test_only_solution_files_and_new_files_beside_them_are_writable() -> None:
    assert writable("src/main/java/Bank.java", EXERCISE)
    assert writable("src/main/java/Other.java", EXERCISE)
    assert not writable("src/test/java/BankTest.java", EXERCISE)
    assert not writable("build.gradle", EXERCISE)
    assert not writable("src/main/java/../../../x.java", EXERCISE)
    assert not writable("src/main/java/notes.txt", EXERCISE)
    assert not writable("helper.py", SINGLE)  # beside the tests: could be a test itself
    assert not writable("aa_test.py", SINGLE)


def test_prompts_name_the_files_and_cut_the_test_output() -> None:
    first = edit_prompt(SINGLE)
    assert "modify the supplied files: two.py" in first and "def add(a, b):" in first
    second = feedback_prompt(SINGLE, "x" * 100 + "FAILED", 10)
    assert second.startswith("[... 96 characters cut]\nxxxxFAILED")
    assert "don't try and change them" in second and "two.py" in second
    task = task_prompt(SINGLE)
    assert "Complete the solution in: two.py. The tests are in: two_test.py" in task


def test_text_protocol_reads_the_last_fenced_command() -> None:
    assert command_in("Let me look.\n```sh\nls -la\n```") == "ls -la"
    assert command_in("```bash\necho 1\n```\nthen\n```\npython3 x.py\n```") == "python3 x.py"
    assert command_in("All done, the tests pass.") is None
    assert command_in("```sh\n\n```") is None
    assert protocol_for(Mode.CHAT) == "tools" and protocol_for(Mode.COMPLETION) == "text"


def test_describe_call() -> None:
    shell = ToolCall("1", "shell", json.dumps({"command": "make test"}))
    write = ToolCall("2", "write_file", json.dumps({"path": "a.py", "content": "abc"}))
    assert describe_call(shell) == "make test"
    assert describe_call(write) == "a.py (3 chars)"
    assert describe_call(ToolCall("3", "shell", "{not json")) == "{not json"


def test_context_overflow_is_told_from_other_errors() -> None:
    assert is_context_overflow(BadRequest("m", "x", code="context_length_exceeded"))
    assert is_context_overflow(BadRequest("m", "prompt of 5000 tokens exceeds the context"))
    assert is_context_overflow(BadRequest("m", "prompt is too long: 300000 tokens"))
    assert not is_context_overflow(BadRequest("m", "tools[0].name is invalid"))
    assert not is_context_overflow(UpstreamError("m", "context exceeded"))


def test_refactoring_exercises_are_told_by_their_instructions() -> None:
    from dataclasses import replace

    from benchwarden.bench.agentic.check import is_refactoring

    ledger = replace(SINGLE, instructions="# Instructions\n\nRefactor a ledger printer.\n")
    assert is_refactoring(ledger)
    assert not is_refactoring(SINGLE)
    assert not is_refactoring(replace(SINGLE, instructions="Write a refactoring tool."))
