"""What a sandboxed run may use, and what came of it: plain, frozen data."""

from __future__ import annotations

import math
from dataclasses import dataclass

VERDICTS = ("ok", "error", "timeout", "memory", "output_limit", "killed", "sandbox_error")
"""Every verdict :class:`ExecResult` can carry."""


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Resource limits for one program (and everything it starts).

    ``cpu_seconds`` is CPU time (user + system), enforced with RLIMIT_CPU (whole
    seconds, rounded up) and checked exactly afterwards from the kernel's accounting.
    ``memory_mb`` is the address space of each process (RLIMIT_AS). ``max_processes``
    counts processes and threads. ``max_output_bytes`` bounds stdout + stderr together
    and the size of any one file written. ``wall_seconds`` catches programs that sleep;
    by default ``2 * cpu_seconds + 5``.
    """

    cpu_seconds: float = 10.0
    memory_mb: int = 1024
    max_processes: int = 32
    max_open_files: int = 64
    max_output_bytes: int = 1_000_000
    wall_seconds: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cpu_seconds) and self.cpu_seconds > 0):
            raise ValueError(f"cpu_seconds must be a positive number, got {self.cpu_seconds}")
        if self.memory_mb < 32:
            raise ValueError(
                f"memory_mb must be at least 32 (Python needs it), got {self.memory_mb}"
            )
        if self.max_processes < 1:
            raise ValueError(f"max_processes must be at least 1, got {self.max_processes}")
        if self.max_open_files < 16:
            raise ValueError(f"max_open_files must be at least 16, got {self.max_open_files}")
        if self.max_output_bytes < 1:
            raise ValueError(f"max_output_bytes must be positive, got {self.max_output_bytes}")
        if self.wall_seconds is not None and not (
            math.isfinite(self.wall_seconds) and self.wall_seconds > 0
        ):
            raise ValueError(f"wall_seconds must be a positive number, got {self.wall_seconds}")

    @property
    def wall_limit(self) -> float:
        """The wall-clock limit in force: ``wall_seconds`` or ``2 * cpu_seconds + 5``."""
        if self.wall_seconds is not None:
            return self.wall_seconds
        return 2 * self.cpu_seconds + 5


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of one sandboxed program.

    ``verdict``: ``ok`` (exit 0 within every limit), ``error`` (non-zero exit),
    ``timeout`` (CPU or wall-clock limit), ``memory`` (the address-space limit was hit),
    ``output_limit`` (too much output, or a file too large), ``killed`` (ended by a
    signal no limit explains), ``sandbox_error`` (the sandbox itself could not start
    the program). ``stdout`` and ``stderr`` hold what was captured (at most
    ``max_output_bytes`` together), decoded with ``errors="replace"``.
    ``isolation`` is ``bwrap`` or ``fallback``; a fallback run always sets ``warning``.
    """

    verdict: str
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    cpu_seconds: float
    wall_seconds: float
    isolation: str
    warning: str | None = None


DEFAULT_LIMITS = SandboxLimits()
"""The limits used when none are given."""
