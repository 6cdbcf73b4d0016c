"""Validity of the Python exercises, in the sandbox: every reference passes, no stub does.

This is what CI must prove for Python (issue 14: references 100%, stubs 0%). Also: an
agent that edits the tests from inside the workspace gains nothing once the pristine
tests are restored.
"""

from __future__ import annotations

import os
import stat
import time

import pytest

from benchwarden.bench.agentic.check import check_exercises
from benchwarden.bench.agentic.exercises import Exercise, load_exercises
from benchwarden.bench.agentic.toolchains import TOOLCHAINS
from benchwarden.bench.agentic.workspace import Workspace

PYTHON = TOOLCHAINS["python"]


@pytest.fixture(scope="module")
def python_exercises() -> list[Exercise]:
    return load_exercises(("python",))


def test_every_reference_passes_and_no_stub_does(python_exercises: list[Exercise]) -> None:
    seen: list[tuple[str, str, bool]] = []
    start = time.monotonic()
    checks = check_exercises(
        python_exercises,
        ["python"],
        workers=2,
        on_result=lambda ex, kind, ok: seen.append((ex, kind, ok)),
    )
    wall = time.monotonic() - start
    check = checks["python"]
    print(f"\npolyglot python check: 34 references + 34 stubs in {wall:.1f} s (2 workers)")
    assert check.runnable and check.reason == ""
    assert check.problems == [], check.problems
    assert (check.reference_passed, check.stub_passed, check.total) == (34, 0, 34)
    assert check.ok
    assert check.to_json() == {
        "reference": {"passed": 34, "total": 34, "unverifiable": 0},
        "stub": {"passed": 0, "total": 34, "exempt": 0},
        "unverifiable": {},
        "runnable": True,
        "reason": "",
    }
    assert len(seen) == 68 and all(ok for _, _, ok in seen)
    assert {kind for _, kind, _ in seen} == {"reference", "stub"}


def test_a_language_without_toolchain_is_reported_not_dropped(
    python_exercises: list[Exercise],
) -> None:
    checks = check_exercises(python_exercises, ["cobol"])
    assert checks["cobol"].runnable is False and "no toolchain" in checks["cobol"].reason
    assert checks["cobol"].total == 0 and not checks["cobol"].ok


def _pick(exercises: list[Exercise], name: str) -> Exercise:
    return next(e for e in exercises if e.name == name)


def test_edited_tests_are_detected_and_restored(python_exercises: list[Exercise]) -> None:
    exercise = _pick(python_exercises, "bowling")
    test_file = "bowling_test.py"
    # The untouched stub fails; an agent rewrites the tests so that it "passes".
    with Workspace(exercise, PYTHON) as ws:
        assert ws.run_tests().outcome == "tests_failed"
        assert ws.tests_modified() == []
        cheat = (
            f"printf 'import unittest\\n\\nclass T(unittest.TestCase):\\n"
            f"    def test_ok(self):\\n        pass\\n' > {test_file}"
        )
        assert ws.run(cheat).verdict == "ok"
        assert ws.run_tests().passed  # the cheat works on the edited tests ...
        assert ws.tests_modified() == [test_file]
        assert ws.restore_tests() == [test_file]
        assert ws.tests_modified() == []
        assert ws.read(test_file) == ws.pristine_tests[test_file]
        assert ws.run_tests().outcome == "tests_failed"  # ... the restored tests decide
        if ws.uid is not None:  # the restored file is the attempt's again
            assert os.lstat(os.path.join(ws.root, test_file)).st_uid == ws.uid
        # A deleted test file counts as modified and comes back too.
        assert ws.run(f"rm {test_file}").verdict == "ok"
        assert ws.tests_modified() == [test_file]
        assert ws.restore_tests() == [test_file]
        info = os.lstat(os.path.join(ws.root, test_file))
        assert stat.S_ISREG(info.st_mode)
        # A command of the attempt may still write the restored file (its owner).
        assert ws.run(f"echo '# note' >> {test_file} && echo ok").stdout == "ok\n"
        assert ws.restore_tests() == [test_file]


def test_a_real_solution_still_passes_after_the_restore(python_exercises: list[Exercise]) -> None:
    exercise = _pick(python_exercises, "wordy")
    test_file = "wordy_test.py"
    with Workspace(exercise, PYTHON, exercise.reference_files()) as ws:
        # Editing a test file (even harmlessly) is recorded; the restore keeps the pass.
        assert ws.run(f"sed -i 's/WordyTest/Renamed/' {test_file}").verdict == "ok"
        assert ws.tests_modified() == [test_file]
        assert ws.run_tests().passed
        assert ws.restore_tests() == [test_file]
        run = ws.run_tests()
        assert run.passed, run.output[-800:]
        assert "Ran " in run.output and "OK" in run.output
        # The diff is the solution's only (against the stub), never the tests.
        diff = ws.solution_diff()
        assert diff.startswith("--- a/wordy.py\n+++ b/wordy.py\n") and test_file not in diff


def test_a_shadowed_test_runner_does_not_pass_a_stub(python_exercises: list[Exercise]) -> None:
    exercise = _pick(python_exercises, "bowling")
    with Workspace(exercise, PYTHON) as ws:
        cheat = (
            "mkdir unittest && touch unittest/__init__.py && echo 'print(1)' > unittest/__main__.py"
        )
        assert ws.run(cheat).verdict == "ok"
        ws.restore_tests()
        assert not ws.run_tests().passed


def test_a_solution_that_exits_0_before_the_tests_does_not_pass(
    python_exercises: list[Exercise],
) -> None:
    exercise = _pick(python_exercises, "bowling")
    (path,) = exercise.solution
    quits = {path: "import os\nos._exit(0)\n"}
    with Workspace(exercise, PYTHON, {**exercise.stub_files(), **quits}) as ws:
        run = ws.run_tests()
        assert run.exit_code == 0  # the process said "fine"...
        assert run.outcome == "tests_failed"  # ...but no test ran
