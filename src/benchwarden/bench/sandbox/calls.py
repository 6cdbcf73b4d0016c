"""Host side of the driver: call a function on many inputs in one sandboxed program.

:func:`run_calls` builds the program (``driver.py`` + a marshal payload), runs it in a
:class:`SandboxPool`, and turns its records into a :class:`CallsReport`: per group, one
:class:`CallResult` per input that ran, in order. A group shorter than its inputs
stopped early: at an exception or timeout (the last result says which), or because the
process ended (``report.result`` says how: timeout, memory, output limit...).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchwarden.bench.sandbox import codec, driver
from benchwarden.bench.sandbox.pool import SandboxPool
from benchwarden.bench.sandbox.types import ExecResult, SandboxLimits


@dataclass(frozen=True, slots=True)
class CallGroup:
    """Inputs (each a sequence of positional arguments) with per-input time limits.

    ``cpu_limits``/``wall_limits``: seconds per input, or ``None`` for no per-input
    limit (the process limits still apply).
    """

    inputs: Sequence[Sequence[Any]]
    cpu_limits: Sequence[float] | None = None
    wall_limits: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class CallError:
    """An exception raised by the program: its type, message and where (if known)."""

    type: str
    message: str
    file: str | None = None  # "<solution>" or "<test>"
    line: int | None = None
    text: str | None = None
    test_text: str | None = None  # the innermost line of the test code, if any ran


@dataclass(frozen=True, slots=True)
class CallResult:
    """One input's outcome: an output, an exception, or a timeout; CPU seconds used."""

    index: int
    cpu: float
    output: Any = None
    error: CallError | None = None
    timeout: bool = False


@dataclass(frozen=True, slots=True)
class CallsReport:
    result: ExecResult  # the sandboxed process (stdout removed: it was the channel)
    syntax_error: CallError | None = None
    load_error: CallError | None = None
    load_timeout: bool = False
    loaded: bool = False
    load_cpu: float = 0.0
    groups: list[list[CallResult]] = field(default_factory=list)
    finished: bool = False  # the driver reached its end


@functools.cache
def driver_source() -> str:
    """The driver's source text (sent into every calls program)."""
    return Path(driver.__file__).read_text(encoding="utf-8")


def build_program(
    code: str,
    entry_point: str,
    groups: Sequence[CallGroup],
    *,
    test: str | None = None,
    check: bool = False,
    load_limits: tuple[float | None, float | None] = (None, None),
) -> str:
    """The sandboxed program: the driver's source and one call with the payload.

    With ``check``, each group holds one empty input and the driver calls the test's
    ``check(entry_point)`` instead (HumanEval's own tests).
    """
    payload: dict[str, object] = {
        "code": code,
        "entry": entry_point,
        "test": test,
        "check": check,
        "load": load_limits,
        "groups": [
            {
                "inputs": [tuple(args) for args in group.inputs],
                "cpu": _limits(group.cpu_limits, len(group.inputs)),
                "wall": _limits(group.wall_limits, len(group.inputs)),
            }
            for group in groups
        ],
    }
    encoded = codec.encode_payload(payload)
    return f"{driver_source()}\n\nmain({encoded!r})\n"


def _limits(values: Sequence[float] | None, count: int) -> list[float | None]:
    if values is None:
        return [None] * count
    if len(values) != count:
        raise ValueError(f"expected {count} per-input limits, got {len(values)}")
    return [float(v) for v in values]


async def run_calls(
    pool: SandboxPool,
    code: str,
    entry_point: str,
    groups: Sequence[CallGroup],
    *,
    limits: SandboxLimits,
    test: str | None = None,
    check: bool = False,
    load_limits: tuple[float | None, float | None] = (None, None),
) -> CallsReport:
    """Run the calls in one sandboxed program and read its records."""
    program = build_program(
        code, entry_point, groups, test=test, check=check, load_limits=load_limits
    )
    result = await pool.run(program, limits)
    return parse_records(result, len(groups))


def _error(raw: Any) -> CallError:
    if not isinstance(raw, dict):
        return CallError("UnknownError", "the program sent a malformed error record")
    at, test_at = raw.get("at"), raw.get("test_at")
    file = line = text = test_text = None
    if isinstance(at, list) and len(at) == 3:
        file, line, text = str(at[0]), int(at[1]), str(at[2])
    if isinstance(test_at, list) and len(test_at) == 3:
        test_text = str(test_at[2])
    return CallError(str(raw.get("type", "")), str(raw.get("msg", "")), file, line, text, test_text)


def parse_records(result: ExecResult, group_count: int) -> CallsReport:
    """Read the driver's records from ``result.stdout`` (malformed lines are skipped).

    Records out of order or repeated (a program can write to the channel too) are
    ignored: only the next expected index of each group is taken.
    """
    syntax = load_error = None
    load_timeout = loaded = finished = False
    load_cpu = 0.0
    groups: list[list[CallResult]] = [[] for _ in range(group_count)]
    for line in result.stdout.splitlines():
        try:
            record = json.loads(line, object_hook=codec.decode_hook)
        except (ValueError, TypeError, RecursionError):
            continue
        if not isinstance(record, dict):
            continue
        kind = record.get("k")
        try:
            if kind == "r":
                g, i = int(record["g"]), int(record["i"])
                if not (0 <= g < group_count) or i != len(groups[g]):
                    continue
                cpu = float(record.get("cpu", 0.0))
                if "out" in record:
                    groups[g].append(CallResult(i, cpu, output=record["out"]))
                elif record.get("timeout"):
                    groups[g].append(CallResult(i, cpu, timeout=True))
                else:
                    groups[g].append(CallResult(i, cpu, error=_error(record.get("exc"))))
            elif kind == "load" and not (loaded or load_error or load_timeout):
                if "cpu" in record:
                    loaded, load_cpu = True, float(record["cpu"])
                elif record.get("timeout"):
                    load_timeout = True
                else:
                    load_error = _error(record.get("exc"))
            elif kind == "syntax" and syntax is None and not loaded:
                syntax = CallError(
                    str(record.get("type", "SyntaxError")),
                    str(record.get("msg", "")),
                    "<solution>",
                    int(record.get("at") or 0),
                    str(record.get("text", "")),
                )
            elif kind == "end":
                finished = True
        except (KeyError, TypeError, ValueError):
            continue
    stripped = ExecResult(
        verdict=result.verdict,
        exit_code=result.exit_code,
        signal=result.signal,
        stdout="",
        stderr=result.stderr,
        cpu_seconds=result.cpu_seconds,
        wall_seconds=result.wall_seconds,
        isolation=result.isolation,
        warning=result.warning,
    )
    return CallsReport(
        result=stripped,
        syntax_error=syntax,
        load_error=load_error,
        load_timeout=load_timeout,
        loaded=loaded,
        load_cpu=load_cpu,
        groups=groups,
        finished=finished,
    )
