"""What a language needs to build and test an exercise in the sandbox.

A toolchain is plain configuration plus two pure functions: how the test files are
prepared (Exercism marks all but the first test as skipped; the benchmark runs them
all, as Aider's does), and how a test run's output maps to an outcome. The sandbox
sees only ``/usr`` (Debian's toolchains live there), what ``environment`` binds
read-only, and the workspace.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field

from benchwarden.bench.sandbox.shell import WORKSPACE_LIMITS, ShellEnvironment
from benchwarden.bench.sandbox.types import ExecResult, SandboxLimits

OUTCOMES = ("passed", "tests_failed", "compile_error", "timeout", "sandbox_error")
"""What one test run can come to (see :meth:`Toolchain.outcome`)."""


@dataclass(frozen=True, slots=True)
class Toolchain:
    """How one language's exercises are tested.

    ``test_script`` is a ``sh -c`` script run in ``/workspace``. ``requires`` are the
    programs that must exist on the host (absolute paths or names under /usr/bin),
    ``packages`` the Debian packages that provide them (for the error message).
    ``compile_markers``: text in the output that means the build failed before any
    test ran.
    """

    language: str
    test_script: str
    requires: tuple[str, ...]
    packages: tuple[str, ...]
    environment: ShellEnvironment = field(default_factory=ShellEnvironment)
    limits: SandboxLimits = WORKSPACE_LIMITS
    compile_markers: tuple[str, ...] = ()
    # Files written into every workspace (build configuration the sandbox needs).
    setup_files: dict[str, str] = field(default_factory=dict)
    # A regex the output of a passing run must match (the runner's own summary), so a
    # solution that exits 0 before any test ran does not pass.
    passed_pattern: str | None = None
    # Exercises that cannot meet the check here (this machine's toolchain is older
    # than the exercise), by exercise name: why. The check counts them apart.
    known_issues: dict[str, str] = field(default_factory=dict)

    def unavailable(self) -> str | None:
        """Why this language cannot run here, or None when it can."""
        missing = [p for p in self.requires if shutil.which(p, path="/usr/bin:/bin") is None]
        if missing:
            return (
                f"missing {', '.join(missing)} (Debian: apt-get install "
                f"{' '.join(self.packages)}; `bash scripts/system-deps.sh test` installs it)"
            )
        return self.extra_unavailable()

    def extra_unavailable(self) -> str | None:
        return None

    def prepare_tests(self, path: str, text: str) -> str:
        """The test file as the benchmark runs it (every test enabled)."""
        return text

    def outcome(self, result: ExecResult) -> str:
        """Pure: one of :data:`OUTCOMES` for a finished test run."""
        if result.verdict == "sandbox_error":
            return "sandbox_error"
        if result.verdict in ("timeout", "killed", "memory", "output_limit"):
            return "timeout" if result.verdict == "timeout" else "tests_failed"
        output = result.stdout + result.stderr
        if result.verdict == "ok":
            if self.passed_pattern and not re.search(self.passed_pattern, output, re.MULTILINE):
                return "tests_failed"
            return "passed"
        if any(marker in output for marker in self.compile_markers):
            return "compile_error"
        return "tests_failed"
