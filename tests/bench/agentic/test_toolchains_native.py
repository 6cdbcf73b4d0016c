"""The Go, Rust and C++ toolchains: their pure parts, and the real check in the sandbox.

Every run is real: Debian's ``go``, ``cargo``/``rustc`` and ``cmake``/``g++`` under
bubblewrap with no network, on the exercises of the verified polyglot tree. The full
check is what CI must prove for these three languages: every reference passes and no
stub does, except the exercises each toolchain lists in ``KNOWN_ISSUES`` with the
reason (a reference that needs a newer Go or Rust than Debian's, or crates Debian does
not package; a refactoring exercise whose stub is working code) — exactly those, no
more and no fewer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchwarden.bench.agentic import toolchains as registry
from benchwarden.bench.agentic.check import check_exercises
from benchwarden.bench.agentic.exercises import Exercise, load_exercises
from benchwarden.bench.agentic.toolchains import cpp, go, rust
from benchwarden.bench.agentic.toolchains.base import Toolchain
from benchwarden.bench.agentic.workspace import Workspace
from benchwarden.bench.sandbox.types import ExecResult

LANGUAGES = ("go", "rust", "cpp")
GO, RUST, CPP = go.GO, rust.RUST, cpp.CPP


@pytest.fixture(scope="module")
def exercises() -> list[Exercise]:
    return load_exercises(LANGUAGES)


def _pick(exercises: list[Exercise], language: str, name: str) -> Exercise:
    return next(e for e in exercises if e.language == language and e.name == name)


def _result(verdict: str, output: str = "", exit_code: int | None = 1) -> ExecResult:
    return ExecResult(verdict, exit_code, None, output, "", 0.1, 0.1, "bwrap")


# --- pure ---------------------------------------------------------------------------


def test_rust_runs_every_test() -> None:
    text = (
        "#[test]\nfn first() {}\n\n#[test]\n#[ignore]\nfn second() {}\n"
        '#[test]\n  #[ignore = "slow"]\r\nfn third() {}\n'
        "// #[ignore] in a comment is kept, as is ignore_punctuation\n"
        "fn ignore_punctuation() {}\n"
    )
    assert rust.enable_all_tests(text) == (
        "#[test]\nfn first() {}\n\n#[test]\nfn second() {}\n#[test]\nfn third() {}\n"
        "// #[ignore] in a comment is kept, as is ignore_punctuation\n"
        "fn ignore_punctuation() {}\n"
    )
    assert RUST.prepare_tests("tests/bowling.rs", "#[ignore]\nfn t() {}\n") == "fn t() {}\n"
    assert RUST.prepare_tests("tests/invalid/Cargo.toml", "#[ignore]\n") == "#[ignore]\n"
    # Go and C++ enable every test through the build (no tags, -DEXERCISM_RUN_ALL_TESTS).
    assert GO.prepare_tests("x_test.go", "t.Skip()\n") == "t.Skip()\n"
    assert "-DEXERCISM_RUN_ALL_TESTS=1" in CPP.test_script


def test_go_outcomes() -> None:
    ok = "ok  \thexadecimal\t0.004s\n"
    assert GO.outcome(_result("ok", ok, 0)) == "passed"
    assert GO.outcome(_result("ok", "ok  \thexadecimal\t(cached)\n", 0)) == "passed"
    # A run where no test ran is not a pass (the stub of counter has no test at all).
    no_tests = "ok  \tcounter\t0.003s [no tests to run]\n"
    assert GO.outcome(_result("ok", no_tests, 0)) == "tests_failed"
    assert GO.outcome(_result("ok", "?   \tcounter\t[no test files]\n", 0)) == "tests_failed"
    build = (
        "# react [react.test]\n./react_test.go:9:2: undefined: New\nFAIL\treact [build failed]\n"
    )
    assert GO.outcome(_result("error", build)) == "compile_error"
    missing = (
        "dnd_character.go:6:2: package slices is not in GOROOT (/usr/lib/go-1.19/src/slices)\n"
    )
    assert GO.outcome(_result("error", missing)) == "compile_error"
    failed = "--- FAIL: TestSay (0.00s)\nFAIL\nFAIL\tsay\t0.003s\nFAIL\n"
    assert GO.outcome(_result("error", failed)) == "tests_failed"
    assert GO.outcome(_result("timeout", ok)) == "timeout"


def test_rust_outcomes() -> None:
    lib = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored\n\n"
    tests = "running 12 tests\n............\ntest result: ok. 12 passed; 0 failed\n"
    assert RUST.outcome(_result("ok", lib + tests, 0)) == "passed"
    assert RUST.outcome(_result("ok", lib, 0)) == "tests_failed"  # no test ran
    compile_error = "error[E0425]: cannot find function `reply` in crate `bob`\n"
    assert RUST.outcome(_result("error", compile_error)) == "compile_error"
    unresolved = "error: no matching package named `itertools` found\n"
    assert RUST.outcome(_result("error", unresolved)) == "compile_error"
    failed = "thread 'x' panicked at 'not implemented'\ntest result: FAILED. 0 passed; 1 failed\n"
    assert RUST.outcome(_result("error", failed + "error: test failed, to rerun pass")) == (
        "tests_failed"
    )


def test_cpp_outcomes() -> None:
    passed = "[100%] Built target clock\nAll tests passed (50 assertions in 3 test cases)\n"
    assert CPP.outcome(_result("ok", passed, 0)) == "passed"
    one = "All tests passed (1 assertion in 1 test case)\n"
    assert CPP.outcome(_result("ok", one, 0)) == "passed"
    assert CPP.outcome(_result("ok", "[100%] Built target clock\nNo tests ran\n", 0)) == (
        "tests_failed"
    )
    error = "/tmp/clock/clock_test.cpp:12:5: error: 'clock' is not a member of 'date'\n"
    assert CPP.outcome(_result("error", error)) == "compile_error"
    link = "clock_test.cpp:(.text+0x3e): undefined reference to `date::clock::at(int, int)'\n"
    assert CPP.outcome(_result("error", link)) == "compile_error"
    failed = (
        "/tmp/clock/clock_test.cpp:40: FAILED:\n  REQUIRE( a == b )\n"
        "test cases: 3 | 2 passed | 1 failed\nmake: *** [Makefile:91: all] Error 2\n"
    )
    assert CPP.outcome(_result("error", failed)) == "tests_failed"


def test_a_missing_toolchain_names_its_packages(tmp_path: Path) -> None:
    for toolchain in (GO, RUST, CPP):
        assert toolchain.unavailable() is None, toolchain.unavailable()  # CI installs them
    no_go = dataclasses.replace(GO, requires=("go-not-installed",))
    assert "golang-go" in (no_go.unavailable() or "")
    no_crates = dataclasses.replace(RUST, registry=str(tmp_path))
    reason = no_crates.unavailable() or ""
    for package in ("librust-anyhow-dev", "librust-rand-dev", "librust-time-dev"):
        assert package in reason, reason
    (tmp_path / "rand-0.8.5").mkdir()
    (tmp_path / "rand_core-0.6.3").mkdir()
    assert dataclasses.replace(RUST, registry=str(tmp_path)).has_crate("rand")
    assert not dataclasses.replace(RUST, registry=str(tmp_path)).has_crate("rand_chacha")
    no_boost = dataclasses.replace(CPP, boost_header=str(tmp_path / "date_time.hpp"))
    assert "libboost-date-time-dev" in (no_boost.unavailable() or "")


def test_known_issues_name_real_exercises(exercises: list[Exercise]) -> None:
    for language, issues in (("go", go.KNOWN_ISSUES), ("rust", rust.KNOWN_ISSUES)):
        names = {e.name for e in exercises if e.language == language}
        assert set(issues) <= names
        assert all(r.startswith(("reference fails: ", "stub passes: ")) for r in issues.values())


def test_a_rust_reference_brings_its_own_manifest(exercises: list[Exercise]) -> None:
    # Exercism's .meta/Cargo-example.toml: the crates the reference (not the stub) uses.
    grep = _pick(exercises, "rust", "grep")
    assert "thiserror" in grep.reference["Cargo.toml"]
    assert "thiserror" not in grep.stub_files()["Cargo.toml"]
    assert "Cargo.toml" not in _pick(exercises, "rust", "gigasecond").reference


# --- real runs in the sandbox ---------------------------------------------------------


@pytest.fixture(scope="module")
def fast_cpp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Toolchain]:
    """The registered C++ toolchain, with a prebuilt Catch main if it has none."""
    current = registry.TOOLCHAINS["cpp"]
    if current.environment.ro_binds:
        yield current
        return
    folder = tmp_path_factory.mktemp("cpp") / "catch"
    cpp.install_catch_main(folder)
    registry.TOOLCHAINS["cpp"] = cpp.cpp_toolchain(folder)
    try:
        yield registry.TOOLCHAINS["cpp"]
    finally:
        registry.TOOLCHAINS["cpp"] = current


@pytest.mark.parametrize(
    ("language", "names"),
    [
        # an editor file (react), build tags (robot-simulator), a plain one
        ("go", ("hexadecimal", "react", "robot-simulator")),
        # Debian crates (gigasecond: time), compile-fail tests through cargo (macros)
        ("rust", ("gigasecond", "macros", "xorcism")),
        # Boost (gigasecond), 1000 threads (bank-account)
        ("cpp", ("bank-account", "gigasecond", "space-age")),
    ],
)
def test_a_few_exercises_pass_with_the_reference_and_fail_as_stubs(
    exercises: list[Exercise], fast_cpp: Toolchain, language: str, names: tuple[str, ...]
) -> None:
    chosen = [_pick(exercises, language, n) for n in names]
    start = time.monotonic()
    checks = check_exercises(chosen, [language], workers=2)
    print(f"\n{language}: {len(names)} exercises in {time.monotonic() - start:.1f} s")
    check = checks[language]
    assert check.problems == [], check.problems
    assert (check.reference_passed, check.stub_passed, check.total) == (len(names), 0, len(names))


def test_cpp_builds_without_a_prebuilt_catch_main(exercises: list[Exercise]) -> None:
    plain = cpp.cpp_toolchain(None)
    assert plain.environment.ro_binds == () and "LAUNCHER" not in plain.test_script
    exercise = _pick(exercises, "cpp", "space-age")
    with Workspace(exercise, plain, exercise.reference_files()) as ws:
        run = ws.run_tests()
    assert run.passed, run.output[-1500:]
    assert "Building CXX object CMakeFiles/space_age.dir/test/tests-main.cpp.o" in run.output


def test_stubs_fail_for_the_right_reason(exercises: list[Exercise]) -> None:
    for language, name, outcome in (
        ("go", "hexadecimal", "compile_error"),
        ("go", "counter", "tests_failed"),  # no test ran
        ("rust", "macros", "compile_error"),
        ("rust", "acronym", "tests_failed"),
    ):
        exercise = _pick(exercises, language, name)
        with Workspace(exercise, registry.TOOLCHAINS[language]) as ws:
            run = ws.run_tests()
        assert run.outcome == outcome, (name, run.output[-1500:])


def test_cpp_builds_exactly_one_test_file(exercises: list[Exercise]) -> None:
    exercise = _pick(exercises, "cpp", "clock")
    # A test file of the attempt's own never chooses what is built: it is an error.
    planted = {**exercise.reference_files(), "a_test.cpp": "int main() { return 0; }\n"}
    with Workspace(exercise, CPP, planted) as ws:
        run = ws.run_tests()
    assert run.outcome == "compile_error"
    assert "expected exactly one *_test.cpp" in run.output


def test_the_prebuilt_catch_main_stands_in_only_for_the_same_sources(
    exercises: list[Exercise], fast_cpp: Toolchain
) -> None:
    exercise = _pick(exercises, "cpp", "clock")
    with Workspace(exercise, fast_cpp, exercise.reference_files()) as ws:
        run = ws.run_tests()
    assert run.passed, run.output[-1500:]
    assert run.cpu_seconds < 8, run.cpu_seconds  # Catch's main alone takes ~10 s of CPU
    # A catch.hpp that differs is compiled, not replaced: here it stops the main's build.
    changed = dict(exercise.reference_files())
    changed["test/catch.hpp"] += "\n#ifdef CATCH_CONFIG_MAIN\n#error compiled again\n#endif\n"
    with Workspace(exercise, fast_cpp, changed) as ws:
        run = ws.run_tests()
    assert run.outcome == "compile_error"
    assert "compiled again" in run.output


KNOWN = {"go": go.KNOWN_ISSUES, "rust": rust.KNOWN_ISSUES, "cpp": {}}
# Refactoring exercises: their stubs are working code, counted apart by the check.
EXEMPT = {"go": ["go/ledger", "go/markdown"], "rust": [], "cpp": []}


@pytest.mark.timeout(900)  # ~80 s (go), ~60 s (rust), ~40 s (cpp) on 2 idle cores
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reference_passes_and_no_stub_does(
    exercises: list[Exercise], fast_cpp: Toolchain, language: str
) -> None:
    """The full check of one language (2 workers), its known issues aside."""
    mine = [e for e in exercises if e.language == language]
    start = time.monotonic()
    check = check_exercises(mine, [language], workers=2)[language]
    wall = time.monotonic() - start
    print(f"\npolyglot check of {language}: {check.to_json()} in {wall:.1f} s (2 workers)")
    assert check.runnable, check.reason
    issues = KNOWN[language]
    fails = sum(r.startswith("reference fails") for r in issues.values())
    assert (check.total, check.reference_passed, check.stub_passed) == (
        len(mine),
        len(mine) - fails,
        0,
    ), check.problems
    assert sorted(check.exempt) == EXEMPT[language]
    # What Debian's toolchain cannot build is counted apart with its reason; nothing else
    # may fail, so the check is green.
    assert check.problems == []
    assert dict(check.unverifiable) == {f"{language}/{n}": r for n, r in issues.items()}
    assert check.ok
    assert check.to_json()["reference"] == {
        "passed": len(mine) - fails,
        "total": len(mine),
        "unverifiable": fails,
    }
