"""`benchwarden suites check polyglot` as a user runs it: counts per language, JSON
shape, exit status, and clear refusals of what it cannot check."""

from __future__ import annotations

import json
from pathlib import Path

from benchwarden.bench.agentic.toolchains import cpp
from tests.cli_process import run_cli


def test_check_python_prints_the_documented_json() -> None:
    done = run_cli("suites", "check", "polyglot", "--language", "python", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == {
        "python": {
            "reference": {"passed": 34, "total": 34, "unverifiable": 0},
            "stub": {"passed": 0, "total": 34, "exempt": 0},
            "unverifiable": {},
            "runnable": True,
            "reason": "",
        }
    }


def test_check_refuses_what_it_cannot_check() -> None:
    unknown = run_cli("suites", "check", "polyglot", "--language", "cobol")
    assert unknown.returncode == 1 and "unknown language cobol" in unknown.stderr
    other = run_cli("suites", "check", "humaneval")
    assert other.returncode == 1 and "polyglot" in other.stderr
    bare = run_cli("suites", "check")
    assert bare.returncode == 1 and "usage" in bare.stderr


def test_suites_lists_polyglot_languages_as_json() -> None:
    done = run_cli("suites", "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    languages = {row["language"]: row for row in listing["polyglot_languages"]}
    assert set(languages) == {"python", "go", "rust", "cpp", "javascript", "java"}
    assert languages["python"] == {
        "language": "python",
        "exercises": 34,
        "runnable": True,
        "reason": "",
    }
    for row in languages.values():  # a language that cannot run here says why
        assert row["runnable"] or row["reason"]
    polyglot = next(s for s in listing["suites"] if s["suite"] == "polyglot")
    assert polyglot["items"] == sum(r["exercises"] for r in languages.values() if r["runnable"])


def test_prepare_builds_the_cpp_catch_main_where_the_toolchain_looks(tmp_path: Path) -> None:
    folder = tmp_path / "catch"
    done = run_cli("suites", "prepare", "polyglot", env={"BENCHWARDEN_CPP_CATCH": str(folder)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(folder) in done.stdout.replace("\n", "")
    assert cpp.catch_main_ready(folder)
    assert cpp.cpp_toolchain(folder).environment.ro_binds == ((str(folder), cpp.CATCH_MOUNT),)
    wrong = run_cli("suites", "prepare", "humaneval")
    assert wrong.returncode == 1 and "polyglot" in wrong.stderr
