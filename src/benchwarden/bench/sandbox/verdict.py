"""Pure: how a finished (or stopped) program's status maps to a verdict."""

from __future__ import annotations

import math
import re
import signal as _signal
from dataclasses import dataclass

from benchwarden.bench.sandbox.types import SandboxLimits

CPU_SLACK_SECONDS = 0.05
"""CPU time over the limit that is still forgiven (the launcher's own few milliseconds)."""

RLIMIT_KILL_SHARE = 0.75
"""A SIGKILL after this share of the CPU rlimit was used is the rlimit's."""

_MEMORY_LINE = re.compile(r"^(?:\w+\.)*MemoryError\b")
_ALLOC_FAILURE = ("Cannot allocate memory", "out of memory")
_FILE_TOO_LARGE = ("File too large", "[Errno 27]")
_CRASH_SIGNALS = {_signal.SIGSEGV, _signal.SIGABRT, _signal.SIGBUS}


@dataclass(frozen=True, slots=True)
class Finished:
    """What the supervisor observed; ``stopped_for`` is why it killed the program, if it did."""

    exit_code: int | None
    signal: int | None
    cpu_seconds: float
    stderr: str
    stopped_for: str | None = None  # "wall" | "output" | "cancel"
    setup_failed: bool = False


def split_bwrap_status(code: int) -> tuple[int | None, int | None]:
    """bwrap reports a child killed by signal N as exit status 128 + N.

    A program that itself exits with 129..192 is read as killed (an ambiguity of
    bwrap's status that no other channel resolves).
    """
    if 128 < code <= 128 + 64:
        return None, code - 128
    return code, None


def _last_lines(text: str, count: int = 3) -> list[str]:
    return [line.strip() for line in text.rstrip().splitlines()[-count:] if line.strip()]


def is_memory_error(stderr: str) -> bool:
    """A Python traceback ending in MemoryError (or a C library's allocation failure)."""
    lines = _last_lines(stderr)
    if lines and _MEMORY_LINE.match(lines[-1]):
        return True
    return any(marker in line for line in lines for marker in _ALLOC_FAILURE)


def classify(done: Finished, limits: SandboxLimits) -> str:
    """The verdict for ``done`` under ``limits`` (see :class:`ExecResult`)."""
    if done.setup_failed:
        return "sandbox_error"
    if done.stopped_for == "output":
        return "output_limit"
    if done.stopped_for == "wall":
        return "timeout"
    if done.stopped_for == "cancel":
        return "killed"
    if done.signal == _signal.SIGXCPU or done.cpu_seconds > limits.cpu_seconds + CPU_SLACK_SECONDS:
        return "timeout"
    # RLIMIT_CPU (whole seconds) ends a program with SIGKILL once it has used them all.
    # The kernel's check counts a little more than what wait4 reports (seen: 1.82 s
    # reported at a 2 s limit on a busy VM), hence the margin.
    rlimit = max(1, math.ceil(limits.cpu_seconds))
    if done.signal == _signal.SIGKILL and done.cpu_seconds >= RLIMIT_KILL_SHARE * rlimit:
        return "timeout"
    if done.signal is None and done.exit_code == 0:
        return "ok"
    if done.signal == _signal.SIGXFSZ or any(
        marker in line for line in _last_lines(done.stderr) for marker in _FILE_TOO_LARGE
    ):
        return "output_limit"
    crashed = done.signal is None or done.signal in _CRASH_SIGNALS
    if crashed and is_memory_error(done.stderr):
        return "memory"
    if done.signal is not None:
        return "killed"
    return "error"
