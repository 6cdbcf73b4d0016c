"""Polyglot runs for the report and viewer tests, written through the Store API.

Each sample is what the runner stores for a finished attempt: the attempt is built with
the harness's own records (``Step``, ``Tally``, ``TestRun``, ``AttemptResult``), its
``metadata()`` and the suite's ``_score`` give what is kept, exactly as
``runner._episode`` assembles it. Running the sandbox and a model for each of them is
not what these tests are about (the polyglot tests do that).

Two runs, models alpha (cheap) and beta (dear):
- ``poly-edit`` (edit protocol), python bowling/grep/zipper and go bowling/react; each
  attempt a list of try outcomes; beta's go/react errored (no attempt recorded).
- ``poly-tools`` (alpha: native tools, beta: text protocol), python/bowling and go/react;
  alpha's python/bowling ran a shell command whose output is hostile HTML.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from benchwarden.bench.agentic.attempt import AttemptResult
from benchwarden.bench.agentic.exercises import Exercise
from benchwarden.bench.agentic.trajectory import AttemptLimits, Step, Tally
from benchwarden.bench.agentic.workspace import TestRun
from benchwarden.bench.suites.polyglot import _score
from benchwarden.models.types import Usage
from benchwarden.store import RunRecord, SampleRecord, open_store

EDIT_RUN = "poly-edit"
TOOLS_RUN = "poly-tools"
ALPHA, BETA = "lab/alpha", "lab/beta"
MODELS = (ALPHA, BETA)
RATE = {ALPHA: 1e-5, BETA: 3e-5}  # $ per token
EDIT_CALL = {ALPHA: (1000, 200), BETA: (1500, 300)}  # tokens in, out per model call
TOOLS_CALL = {ALPHA: (1000, 100), BETA: (2000, 100)}
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">PWNTEXT'
DIFF_MARK = "DIFFMARK<b>bold</b>"
FILES = {"python": ("{}.py", "{}_test.py"), "go": ("{}.go", "{}_test.go")}

# (model, exercise) -> the outcome of each try; None: the model's answer named no file.
EDIT_PLAN: dict[tuple[str, str], list[str | None]] = {
    (ALPHA, "python/bowling"): ["passed"],
    (ALPHA, "python/grep"): ["tests_failed", "passed"],
    (ALPHA, "python/zipper"): ["compile_error", "compile_error"],
    (ALPHA, "go/bowling"): ["passed"],
    (ALPHA, "go/react"): ["tests_failed", "tests_failed"],
    (BETA, "python/bowling"): ["tests_failed", "passed"],
    (BETA, "python/grep"): [None, None],
    (BETA, "python/zipper"): ["timeout", "timeout"],
    (BETA, "go/bowling"): ["passed"],
}
ERRORED = (BETA, "go/react")


@dataclass(frozen=True)
class AgenticRuns:
    db: Path


def exercise(item_id: str) -> Exercise:
    language, name = item_id.split("/")
    solution, tests = (f.format(name.replace("-", "_")) for f in FILES[language])
    return Exercise(
        language=language,
        name=name,
        instructions=f"# {name}\nImplement {name}.",
        solution={solution: "def stub():\n    pass\n"},
        tests={tests: "def test():\n    assert stub()\n"},
        reference={solution: "def stub():\n    return True\n"},
    )


def _diff(ex: Exercise, extra: str = "") -> str:
    path = next(iter(ex.solution))
    return (
        f"--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,3 @@\n def stub():\n-    pass\n"
        f"+    return True\n+# {DIFF_MARK}{extra}\n"
    )


def _model(result: AttemptResult, model: str, tokens: tuple[int, int], said: str) -> None:
    usage = Usage(*tokens)
    result.tally.add_call(usage, RATE[model] * usage.total_tokens, 0.5)
    result.steps.append(
        Step(
            len(result.steps),
            "model",
            "stop",
            output=said,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            seconds=0.5,
        )
    )


def _tool(result: AttemptResult, name: str, command: str, output: str, ok: bool = True) -> None:
    result.tally.add_time(0.25)
    result.steps.append(Step(len(result.steps), "tool", name, command, output, ok, seconds=0.25))


def _run(outcome: str) -> TestRun:
    text = {
        "passed": "===== 9 passed in 0.04s =====",
        "tests_failed": "FAILED test_score - assert 0 == 300\n===== 1 failed, 8 passed =====",
        "compile_error": "SyntaxError: invalid syntax (line 3)",
        "timeout": "[killed after 60 s]",
    }[outcome]
    return TestRun(outcome, text, 0 if outcome == "passed" else 1, 0.8, 0.6)


def edit_attempt(model: str, item_id: str, tries: list[str | None]) -> AttemptResult:
    ex = exercise(item_id)
    result = AttemptResult(protocol="edit", tally=Tally(AttemptLimits()))
    for n, planned in enumerate(tries, 1):
        _model(result, model, EDIT_CALL[model], f"try {n}: {next(iter(ex.solution))}\n```...```")
        written = [] if planned is None else sorted(ex.solution)
        _tool(
            result,
            "write_files",
            ", ".join(written) or "(no file in the answer)",
            "",
            ok=bool(written),
        )
        run = _run(planned or "tests_failed")  # no file: the stub is tested
        result.tally.add_time(run.wall_seconds)
        result.steps.append(
            Step(
                len(result.steps),
                "tests",
                run.outcome,
                output=run.output,
                ok=run.passed,
                seconds=run.wall_seconds,
            )
        )
        result.tries.append(
            {"try": n, "outcome": run.outcome, "passed": run.passed, "files": len(written)}
        )
        result.final = run
    result.diff = "" if all(t is None for t in tries) else _diff(ex)
    return result


def tools_attempts() -> dict[tuple[str, str], AttemptResult]:
    out: dict[tuple[str, str], AttemptResult] = {}
    # alpha, python/bowling: a hostile file read, the fix, the tests, done. Solved.
    r = AttemptResult(protocol="tools", tally=Tally(AttemptLimits()))
    _model(r, ALPHA, TOOLS_CALL[ALPHA], "Let me look around.\n[calls shell]")
    _tool(r, "shell", "cat NOTES.html", HOSTILE)
    _model(r, ALPHA, TOOLS_CALL[ALPHA], "[calls write_file]")
    _tool(r, "write_file", '{"path": "bowling.py"}', "wrote 412 bytes to bowling.py")
    _model(r, ALPHA, TOOLS_CALL[ALPHA], "[calls run_tests]")
    _tool(r, "run_tests", "", _run("passed").output)
    _model(r, ALPHA, TOOLS_CALL[ALPHA], "Done: all tests pass.")
    r.final, r.diff = _run("passed"), _diff(exercise("python/bowling"), " " + HOSTILE)
    out[(ALPHA, "python/bowling")] = r
    # alpha, go/react: edits the test file, runs out of steps. Failed (step_limit).
    r = AttemptResult(protocol="tools", tally=Tally(AttemptLimits(max_steps=4)))
    for command in ("cat react.go", "edit react_test.go", "edit react.go", "go test"):
        _model(r, ALPHA, TOOLS_CALL[ALPHA], "[calls shell]")
        _tool(r, "shell", command, "ok", ok=command != "go test")
    r.end_reason, r.tests_modified = "step_limit", ["react_test.go"]
    r.final, r.diff = _run("tests_failed"), _diff(exercise("go/react"))
    out[(ALPHA, "go/react")] = r
    # beta (text protocol), python/bowling: also rewrites the test file; solved anyway.
    r = AttemptResult(protocol="text", tally=Tally(AttemptLimits()))
    _model(r, BETA, TOOLS_CALL[BETA], "```sh\npython -m pytest -q\n```")
    _tool(r, "shell", "python -m pytest -q", _run("tests_failed").output, ok=False)
    _model(r, BETA, TOOLS_CALL[BETA], "```sh\ncat > bowling.py <<EOF ...\n```")
    _tool(r, "shell", "cat > bowling.py; sed -i s/300/0/ bowling_test.py", "")
    _model(r, BETA, TOOLS_CALL[BETA], "Finished.")
    r.tests_modified = ["bowling_test.py"]
    r.final, r.diff = _run("passed"), _diff(exercise("python/bowling"))
    out[(BETA, "python/bowling")] = r
    # beta, go/react: one look, then the conversation outgrew the context. No answer.
    r = AttemptResult(protocol="text", tally=Tally(AttemptLimits()))
    _model(r, BETA, TOOLS_CALL[BETA], "```sh\nls\n```")
    _tool(r, "shell", "ls", "react.go\nreact_test.go\ninterfaces.go")
    r.end_reason, r.final = "context_exceeded", _run("tests_failed")
    out[(BETA, "go/react")] = r
    return out


def sample(
    run_id: str, model: str, item_id: str, result: AttemptResult, agent: str
) -> SampleRecord:
    """As ``runner._episode`` records a finished attempt."""
    score = _score(result, exercise(item_id))
    return SampleRecord(
        run_id,
        model,
        "polyglot",
        item_id,
        0,
        "ok",
        answer=result.diff,
        answer_sha256=hashlib.sha256(result.diff.encode()).hexdigest(),
        score=score.value,
        passed=score.passed,
        score_detail=dict(score.detail),
        input_tokens=result.tally.usage.input_tokens,
        output_tokens=result.tally.usage.output_tokens,
        latency_s=result.tally.active_seconds,
        cost=result.tally.cost,
        endpoint=f"https://api.{model.split('/')[1]}.example/v1",
        purpose="benchmarking",
        mode="chat",
        finish_reason=result.end_reason,
        metadata={**result.metadata(), "scorer": "polyglot-tests", "suite_version": f"1-{agent}"},
    )


def build_agentic_runs(db: Path) -> AgenticRuns:
    edit = [
        sample(EDIT_RUN, m, i, edit_attempt(m, i, t), "edit") for (m, i), t in EDIT_PLAN.items()
    ]
    edit.append(
        SampleRecord(
            EDIT_RUN,
            ERRORED[0],
            "polyglot",
            ERRORED[1],
            0,
            "error",
            error_kind="rate_limited",
            error_message="lab/beta: rate limited (429)",
            purpose="benchmarking",
        )
    )
    tools = [sample(TOOLS_RUN, m, i, r, "tools") for (m, i), r in tools_attempts().items()]
    with open_store(str(db)) as store:
        for run_id, samples, agent in ((EDIT_RUN, edit, "edit"), (TOOLS_RUN, tools, "tools")):
            store.create_run(
                RunRecord(
                    run_id,
                    "benchmarking",
                    3,
                    ["polyglot"],
                    list(MODELS),
                    {"agent": agent, "languages": ["python", "go"]},
                    command=f"benchwarden run -s polyglot --agent {agent} (via the Store API)",
                    benchwarden_version="test",
                )
            )
            store.add_samples(samples)
            store.update_run(run_id, status="complete")
    return AgenticRuns(db)
