"""One attempt's workspace: the exercise's files in a host folder, worked on only
through sandboxed commands, tested, and compared with the pristine exercise."""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass

from benchwarden.bench.agentic.exercises import Exercise
from benchwarden.bench.agentic.toolchains.base import Toolchain
from benchwarden.bench.sandbox import workspace_files as files
from benchwarden.bench.sandbox.shell import (
    prepare_workspace,
    require_isolation,
    run_in_workspace,
    workspace_uid,
)
from benchwarden.bench.sandbox.types import ExecResult, SandboxLimits

MAX_WORKSPACE_BYTES = 768 << 20
"""Disk an attempt may fill (build outputs included); checked after every command."""

MAX_DIFF_CHARS = 20_000

BUILD_DIRS = frozenset({"target", "build", "node_modules", ".gocache", "__pycache__"})
"""Folders of build output, never part of a solution."""


@dataclass(frozen=True, slots=True)
class TestRun:
    """One run of an exercise's tests: its outcome (see ``toolchains.OUTCOMES``)."""

    outcome: str
    output: str
    exit_code: int | None
    wall_seconds: float
    cpu_seconds: float

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


class Workspace:
    """A host folder holding one exercise, for the commands of one attempt.

    ``files_in`` are the files to start from (default: the untouched stub). Test
    files are always the pristine, prepared ones (every test enabled).
    """

    def __init__(
        self,
        exercise: Exercise,
        toolchain: Toolchain,
        files_in: dict[str, str] | None = None,
    ) -> None:
        require_isolation()
        self.exercise = exercise
        self.toolchain = toolchain
        self.pristine_tests = {
            path: toolchain.prepare_tests(path, text) for path, text in exercise.tests.items()
        }
        start = {**(files_in or exercise.stub_files()), **self.pristine_tests}
        start.update(toolchain.setup_files)
        self.root = files.new_workspace(start)
        self.uid = workspace_uid()
        prepare_workspace(self.root, self.uid)
        self.closed = False

    def run(
        self,
        script: str,
        *,
        limits: SandboxLimits | None = None,
        stdin: str | None = None,
        cancel: threading.Event | None = None,
    ) -> ExecResult:
        """Run a shell command in the workspace, under the toolchain's environment."""
        if self.closed:
            raise RuntimeError("this workspace is closed")
        return run_in_workspace(
            self.root,
            script,
            limits=limits or self.toolchain.limits,
            environment=self.toolchain.environment,
            uid=self.uid,
            stdin=stdin,
            cancel=cancel,
        )

    def over_disk_limit(self) -> bool:
        return files.disk_usage(self.root) > MAX_WORKSPACE_BYTES

    def run_tests(self, cancel: threading.Event | None = None) -> TestRun:
        result = self.run(self.toolchain.test_script, cancel=cancel)
        return TestRun(
            outcome=self.toolchain.outcome(result),
            output=(result.stdout + result.stderr),
            exit_code=result.exit_code,
            wall_seconds=result.wall_seconds,
            cpu_seconds=result.cpu_seconds,
        )

    def tests_modified(self) -> list[str]:
        """Test files that differ from the pristine copies (missing or replaced count)."""
        changed = []
        for path, text in self.pristine_tests.items():
            current = files.read_file(self.root, path)
            if current is None or current != text.encode():
                changed.append(path)
        return changed

    def restore_tests(self) -> list[str]:
        """Put the pristine test files back; the paths that had been changed."""
        changed = self.tests_modified()
        for path in changed:
            files.write_file(self.root, path, self.pristine_tests[path])
        prepare_workspace(self.root, self.uid)
        return changed

    def solution_diff(self) -> str:
        """A unified diff of the solution files against the stub (new files included).

        Computed on the host: it stops reading once past the bound, whatever number of
        files the commands left.
        """
        out: list[str] = []
        size = 0
        stub = self.exercise.solution
        present = set(files.walk_files(self.root, skip_dirs=BUILD_DIRS))
        known = set(self.exercise.stub_files()) | set(self.toolchain.setup_files)
        for path in sorted(set(stub) | (present - known)):
            data = files.read_file(self.root, path, limit=200_000)
            after = data.decode("utf-8", "replace") if data is not None else ""
            before = stub.get(path, "")
            if before == after:
                continue
            diff = "".join(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=f"a/{path}",
                    tofile=f"b/{path}",
                )
            )
            out.append(diff)
            size += len(diff)
            if size > MAX_DIFF_CHARS:
                break
        text = "".join(out)
        return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "\n[diff cut]\n"

    def read(self, path: str) -> str | None:
        data = files.read_file(self.root, path)
        return None if data is None else data.decode("utf-8", "replace")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            files.remove_workspace(self.root)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
