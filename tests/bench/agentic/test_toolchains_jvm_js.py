"""The Java and JavaScript toolchains of the polyglot suite.

Pure parts (how tests are enabled, how a run's output maps to an outcome, why a
toolchain is unavailable), then real runs in the sandbox: a few exercises that need
Debian's libraries through the adapters, a compile error, and the full check of both
languages (what CI must prove: every reference passes, every stub fails, except the
refactoring exercises whose stub is a working program by design).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from benchwarden.bench.agentic.check import check_exercises
from benchwarden.bench.agentic.exercises import Exercise, load_exercises
from benchwarden.bench.agentic.toolchains import TOOLCHAINS, java, java_adapters, javascript
from benchwarden.bench.agentic.workspace import Workspace
from benchwarden.bench.sandbox.command import Tools
from benchwarden.bench.sandbox.layout import python_layout
from benchwarden.bench.sandbox.shell import WORKSPACE_LIMITS, ShellEnvironment, shell_command
from benchwarden.bench.sandbox.types import ExecResult

JAVA = TOOLCHAINS["java"]
JAVASCRIPT = TOOLCHAINS["javascript"]

# Refactoring exercises: the stub is a working program that passes the tests, and the
# task is to rewrite it. Their stub passing is expected, never a toolchain fault.
STUB_PASSES_BY_DESIGN = {
    "java": {"java/ledger", "java/tree-building"},
    "javascript": {"javascript/ledger"},
}
TOTALS = {"java": 47, "javascript": 49}


def _result(verdict: str, output: str = "") -> ExecResult:
    code = 0 if verdict == "ok" else 1
    return ExecResult(verdict, code, None, output, "", 0.1, 0.1, "bwrap")


# --- pure -----------------------------------------------------------------------------


def test_javascript_enables_every_skipped_test() -> None:
    spec = (
        "test('first', () => {});\n"
        "xtest('second', () => {});\n"
        "  xit ('third', () => {});\n"
        "xdescribe('group', () => {});\n"
        "test.skip(\n  'slow', () => {});\n"
        "describe.skip('slow group', () => {});\n"
        "it.skip('slow it', () => {});\n"
        "helper.xtest('not jest'); myxtest('x'); $xit('y');\n"
    )
    assert javascript.enable_all_tests(spec) == (
        "test('first', () => {});\n"
        "test('second', () => {});\n"
        "  it ('third', () => {});\n"
        "describe('group', () => {});\n"
        "test(\n  'slow', () => {});\n"
        "describe('slow group', () => {});\n"
        "it('slow it', () => {});\n"
        "helper.xtest('not jest'); myxtest('x'); $xit('y');\n"
    )
    assert JAVASCRIPT.prepare_tests("bowling.spec.js", "xtest('a')") == "test('a')"
    assert JAVASCRIPT.prepare_tests("bowling.js", "xtest('a')") == "xtest('a')"


def test_java_enables_every_disabled_test() -> None:
    source = (
        "import org.junit.jupiter.api.Disabled;\n"
        "class T {\n"
        "    @Test\n    void first() {}\n"
        '    @Disabled("Remove to run test")\n    @Test\n    void second() {}\n'
        "    @Disabled\n    @Test\n    void third() {}\n"
        '  @Disabled ( "why" )  \n    @Test\n    void fourth() {}\n'
        "    @DisabledOnOs(OS.WINDOWS)\n    @Test\n    void kept() {}\n"
        "}\n"
    )
    assert java.enable_all_tests(source) == (
        "import org.junit.jupiter.api.Disabled;\n"
        "class T {\n"
        "    @Test\n    void first() {}\n"
        "    @Test\n    void second() {}\n"
        "    @Test\n    void third() {}\n"
        "    @Test\n    void fourth() {}\n"
        "    @DisabledOnOs(OS.WINDOWS)\n    @Test\n    void kept() {}\n"
        "}\n"
    )
    assert JAVA.prepare_tests("src/test/java/T.java", source) == java.enable_all_tests(source)
    assert JAVA.prepare_tests("build.gradle", "@Disabled\n") == "@Disabled\n"


def test_outcomes_tell_compile_errors_from_failing_tests() -> None:
    junit_summary = "[        31 tests successful      ]\n[         0 tests failed          ]\n"
    assert JAVA.outcome(_result("ok", junit_summary)) == "passed"
    assert JAVA.outcome(_result("ok", "")) == "tests_failed"  # the JVM ended early
    assert (
        JAVA.outcome(
            _result(
                "error", "X.java:3: error: ';' expected\n1 error\n" + java.COMPILE_FAILED + "\n"
            )
        )
        == "compile_error"
    )
    assert JAVA.outcome(_result("error", "[ 3 tests failed ]")) == "tests_failed"
    assert JAVA.outcome(_result("timeout")) == "timeout"
    jest_summary = "Test Suites: 1 passed, 1 total\nTests:       30 passed, 30 total\n"
    assert JAVASCRIPT.outcome(_result("ok", jest_summary)) == "passed"
    assert JAVASCRIPT.outcome(_result("ok", '●  process.exit called with "0"')) == "tests_failed"
    js_syntax = "FAIL ./a.spec.js\n  ● Test suite failed to run\n\n    SyntaxError: x"
    assert JAVASCRIPT.outcome(_result("error", js_syntax)) == "compile_error"
    assert JAVASCRIPT.outcome(_result("error", "Tests: 1 failed, 2 passed")) == "tests_failed"
    assert JAVASCRIPT.outcome(_result("sandbox_error")) == "sandbox_error"


def test_java_script_compiles_in_tmp_with_every_jar_and_adapter() -> None:
    script = java.test_script()
    assert script.startswith("rm -rf /tmp/build")
    for jar in java.JARS:
        assert f"{java.SHARE}/{jar}" in script
    for adapter in java_adapters.ADAPTERS:
        assert f"grep -rqE '{adapter.trigger}' src" in script
        for source in adapter.sources:
            assert f"{java_adapters.COMPAT}/{source}" in script
            assert (java_adapters.COMPAT_DIR / source).is_file()
    assert "-proc:none" in script and "--fail-if-no-tests" in script
    with pytest.raises(ValueError, match="no single quotes"):
        java_adapters.adapter_lines((java_adapters.Adapter("x", "it's", "", ()),))


def test_javascript_unavailable_explains_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toolchain = javascript.javascript_toolchain(tmp_path)
    reason = toolchain.unavailable()
    assert reason is not None
    assert "make js-runner" in reason and javascript.RUNNER_ENV in reason
    assert "jest/bin/jest.js" in reason
    assert toolchain.environment.ro_binds == ((str(tmp_path / "node_modules"), "/node_modules"),)
    monkeypatch.setenv(javascript.RUNNER_ENV, str(tmp_path))
    assert javascript.runner_dir() == tmp_path
    monkeypatch.delenv(javascript.RUNNER_ENV)
    assert javascript.runner_dir() == javascript.default_runner_dir()
    assert (javascript.default_runner_dir() / "package-lock.json").is_file()


def test_java_unavailable_names_the_missing_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(java, "SHARE", str(tmp_path))
    reason = JAVA.unavailable()
    assert reason is not None
    for package in ("junit5", "libassertj-core-java", "libandroid-json-java", "librx-java"):
        assert package in reason
    assert "system-deps.sh test" in reason


def test_java_binds_the_jdk_configuration_under_etc(tmp_path: Path) -> None:
    home = tmp_path / "jdk"
    (home / "lib").mkdir(parents=True)
    (home / "conf" / "security").mkdir(parents=True)
    (home / "lib" / "jvm.cfg").symlink_to("/etc/ssl/jvm.cfg")
    (home / "conf" / "security" / "java.security").symlink_to("/etc/ssl/certs/x")
    (home / "conf" / "net.properties").symlink_to("../lib/jvm.cfg")  # relative: ignored
    (home / "conf" / "gone").symlink_to("/etc/no-such-folder-here/x")  # missing: ignored
    assert java.etc_dirs(home) == ("/etc/ssl",)
    binds = dict(JAVA.environment.ro_binds)
    assert binds[str(java_adapters.COMPAT_DIR)] == java_adapters.COMPAT
    bin_dir = java.jdk_bin()
    assert bin_dir is not None and JAVA.environment.path_prefix == (bin_dir,)


def test_a_bind_below_a_missing_folder_gets_readable_parents() -> None:
    # bwrap would create /etc mode 0700: the attempt's uid could not reach the bind.
    env = ShellEnvironment(ro_binds=(("/usr/share", "/etc/a/b"),))
    tools = Tools(prlimit="/usr/bin/prlimit", bwrap="/usr/bin/bwrap", setpriv=None, sh=None)
    cmd = shell_command(
        python_layout(),
        tools,
        WORKSPACE_LIMITS,
        workspace="/tmp/w",
        script="true",
        environment=env,
        status_fd=3,
        uid=None,
    )
    at = cmd.index("/etc/a/b")
    assert cmd[at - 2 : at] == ["--ro-bind", "/usr/share"]
    before = cmd[at - 10 : at - 2]
    assert before == ["--perms", "0755", "--dir", "/etc", "--perms", "0755", "--dir", "/etc/a"]


# --- real runs in the sandbox -----------------------------------------------------------


@pytest.fixture(scope="module")
def java_exercises() -> list[Exercise]:
    return load_exercises(("java",))


@pytest.fixture(scope="module")
def javascript_exercises() -> list[Exercise]:
    return load_exercises(("javascript",))


def _pick(exercises: list[Exercise], *names: str) -> list[Exercise]:
    picked = [e for e in exercises if e.name in names]
    assert len(picked) == len(names)
    return picked


def test_java_exercises_that_need_adapted_libraries(java_exercises: list[Exercise]) -> None:
    # hangman: RxJava 2 on RxJava 3; rest-api: org.json on Android's copy (its key
    # order matters); mazy-mice: AssertJ 3.17's hasDimensions; bank-account: 1,000
    # threads.
    names = ("hangman", "rest-api", "mazy-mice", "bank-account")
    assert JAVA.unavailable() is None, JAVA.unavailable()
    check = check_exercises(_pick(java_exercises, *names), ["java"], workers=2)["java"]
    assert check.problems == []
    assert (check.reference_passed, check.stub_passed, check.total) == (4, 0, 4)


def test_java_compile_error_and_failing_tests(java_exercises: list[Exercise]) -> None:
    (bowling,) = _pick(java_exercises, "bowling")
    path = next(iter(bowling.solution))
    broken = {**bowling.reference_files(), path: "class BowlingGame { int score( }\n"}
    with Workspace(bowling, JAVA, broken) as workspace:
        run = workspace.run_tests()
        assert run.outcome == "compile_error", run.output[-2000:]
        assert f"{path}:1: error" in run.output  # the real path, not the /tmp copy
        assert workspace.tests_modified() == []
    with Workspace(bowling, JAVA) as workspace:
        run = workspace.run_tests()
        assert run.outcome == "tests_failed", run.output[-2000:]
        assert "UnsupportedOperationException" in run.output
    # A class in a test library's package would be compiled ahead of the jar.
    shadow = "package org.assertj.core.api;\npublic class Assertions {}\n"
    cheat = {**bowling.reference_files(), "src/main/java/Assertions.java": shadow}
    with Workspace(bowling, JAVA, cheat) as workspace:
        run = workspace.run_tests()
        assert run.outcome == "compile_error", run.output[-2000:]
        assert "src/main/java/Assertions.java" in run.output
        assert "declare a package of the test libraries" in run.output


def test_javascript_exercises_and_a_syntax_error(javascript_exercises: list[Exercise]) -> None:
    assert JAVASCRIPT.unavailable() is None, JAVASCRIPT.unavailable()
    two = _pick(javascript_exercises, "bowling", "parallel-letter-frequency")
    check = check_exercises(two, ["javascript"], workers=2)["javascript"]
    assert check.problems == []
    assert (check.reference_passed, check.stub_passed, check.total) == (2, 0, 2)
    bowling = two[0]
    path = next(iter(bowling.solution))
    with Workspace(bowling, JAVASCRIPT, {**bowling.stub_files(), path: "export cla {"}) as ws:
        run = ws.run_tests()
        assert run.outcome == "compile_error", run.output[-2000:]
        # The runner is there, read-only, and nothing was installed in the workspace.
        probe = ws.run(
            "test -f /node_modules/jest/bin/jest.js; a=$?; test -e node_modules; b=$?;"
            " touch /node_modules/x 2>/dev/null; echo $a$b$?"
        )
        assert probe.stdout.strip() == "011"


def test_javascript_workspace_config_cannot_change_how_tests_run(
    javascript_exercises: list[Exercise],
) -> None:
    # An agent's jest.config.js (no test found is a pass) and babel.config.js (a local
    # plugin that empties every file) would make the untouched stub pass under a plain
    # `jest`; the toolchain's own configuration ignores both.
    (bowling,) = _pick(javascript_exercises, "bowling")
    hostile = {
        **bowling.stub_files(),
        "jest.config.js": "module.exports = { testMatch: ['**/no/*'], passWithNoTests: true };",
        "babel.config.js": "module.exports = { plugins: ['./evil.js'] };",
        "evil.js": "module.exports = () => ({ visitor: { Program(p) { p.node.body = []; } } });",
    }
    with Workspace(bowling, JAVASCRIPT, hostile) as workspace:
        run = workspace.run_tests()
        assert run.outcome == "tests_failed", run.output[-2000:]
        assert "Tests:       30 failed, 30 total" in run.output


def test_a_solution_that_ends_the_run_early_does_not_pass(
    java_exercises: list[Exercise], javascript_exercises: list[Exercise]
) -> None:
    # Exit status 0 before any test reported: only the runner's summary makes a pass.
    (java_bowling,) = _pick(java_exercises, "bowling")
    (js_bowling,) = _pick(javascript_exercises, "bowling")
    cases = []
    for exercise, toolchain in ((java_bowling, JAVA), (js_bowling, JAVASCRIPT)):
        path = next(iter(exercise.solution))
        text = exercise.reference_files()[path]
        if toolchain is JAVA:
            text = text.replace("{", "{ static { System.exit(0); }", 1)
        else:
            text = "process.exit(0);\n" + text
        cases.append((exercise, toolchain, {**exercise.reference_files(), path: text}))
    for exercise, toolchain, files in cases:
        with Workspace(exercise, toolchain, files) as workspace:
            result = workspace.run(toolchain.test_script)
            assert result.verdict == "ok" and result.exit_code == 0
            assert toolchain.outcome(result) == "tests_failed", result.stdout[-2000:]


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("language", ["java", "javascript"])
def test_full_check_every_reference_passes_every_stub_fails(language: str) -> None:
    exercises = load_exercises((language,))
    start = time.monotonic()
    check = check_exercises(exercises, [language], workers=2)[language]
    wall = time.monotonic() - start
    total = TOTALS[language]
    print(f"\npolyglot {language} check: {total} references + {total} stubs in {wall:.1f} s")
    assert check.runnable and check.reason == ""
    assert check.total == total
    assert check.problems == [], check.problems
    assert check.reference_passed == total
    # Refactoring exercises ship working code: their stub passes, counted apart.
    assert set(check.exempt) == STUB_PASSES_BY_DESIGN[language]
    assert check.stub_passed == 0 and check.ok
