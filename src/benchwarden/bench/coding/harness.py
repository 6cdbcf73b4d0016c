"""Score a program against a coding problem's tests, in the sandbox.

HumanEval: the solution, then the dataset's ``check(candidate)``, in one program.
HumanEval+ and MBPP+ follow evalplus: the reference (canonical) solution runs once
per problem on the base and plus inputs, in the sandbox, giving the expected outputs
and its own CPU time per input; a candidate's outputs are then compared with
evalplus's rules (exact, ``atol`` for floats, its special oracles: see
:func:`benchwarden.bench.coding.problems.outputs_match`). The reference's
results are cached under ``cache_dir()/coding/<dataset>/<sha>.json`` (atomic renames:
concurrent writers are safe) and in memory.

Time limits are CPU time, calibrated as evalplus does: per input
``max(1 s, 4 x the reference's time)``, each group (base, plus) capped at 60 s, plus a
wall-clock limit (``2 x + 1 s``) for programs that sleep. CPU time does not grow when
the machine is loaded, so a busy machine does not fail correct code.

Deviations from evalplus, on purpose:

- HumanEval/32 (``find_zero``): evalplus's oracle skips recording the pass, so even
  the canonical solution fails; here an input passes when ``|poly(xs, x)| <= atol``.
- Outputs are compared on the host after crossing the sandbox as tagged JSON (the
  program never sees the expected outputs, so it cannot fake a pass). Values of
  other types (custom classes, generators) compare by type name and repr; outputs
  over 1 MiB of text by a structural hash (equal values, exactly: no float tolerance).
- Module-level code gets its own CPU limit (4 s, or 4 x the reference's).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import marshal
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchwarden.bench.coding.problems import DATASET_FILES, CodingProblem, outputs_match
from benchwarden.bench.sandbox import SandboxLimits, SandboxPool, codec
from benchwarden.bench.sandbox.calls import (
    CallError,
    CallGroup,
    CallResult,
    CallsReport,
    driver_source,
    run_calls,
)
from benchwarden.paths import cache_dir

MIN_TIME_LIMIT = 1.0  # evalplus DEFAULT_MIN_TIME_LIMIT (CPU seconds here)
TIME_LIMIT_FACTOR = 4.0  # evalplus DEFAULT_GT_TIME_LIMIT_FACTOR
GROUP_CPU_CAP = 60.0  # evalplus EVALPLUS_TIMEOUT_PER_TASK
LOAD_CPU_LIMIT = 4.0
MEMORY_MB = 4096  # evalplus's address-space limit
MAX_OUTPUT_BYTES = 64 << 20  # the largest reference output seen is ~6 MB (HumanEval/83)
REFERENCE_LIMITS = SandboxLimits(
    cpu_seconds=600.0, memory_mb=MEMORY_MB, max_output_bytes=MAX_OUTPUT_BYTES
)
CACHE_VERSION = 1
_GROUPS = ("base", "plus")


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """Pass or fail, and if fail: the first failing test and the kind of error.

    ``error_kind``: ``syntax``, ``assertion``, ``wrong_answer``, ``timeout``, ``memory``,
    ``crash`` or ``output_limit``. ``base_passed``/``plus_passed`` are set for the plus
    datasets only.
    """

    __test__ = False  # not a pytest test class

    passed: bool
    error_kind: str | None
    failing_test: str | None
    detail: str
    base_passed: bool | None
    plus_passed: bool | None
    isolation: str
    warning: str | None = None


class ReferenceSolutionError(RuntimeError):
    """The problem's own reference solution fails in the sandbox: the problem is unusable."""


@dataclass(frozen=True, slots=True)
class _Reference:
    load_cpu: float
    process_cpu: float
    times: list[list[float]]
    outputs: list[list[Any]]


@dataclass(frozen=True, slots=True)
class _Failure:
    kind: str
    test: str | None
    detail: str


_memo: OrderedDict[str, _Reference] = OrderedDict()
_MEMO_SIZE = 256
_pending: dict[tuple[int, str], asyncio.Future[_Reference]] = {}


async def check_solution(problem: CodingProblem, solution: str, pool: SandboxPool) -> TestOutcome:
    """Run ``solution`` (full code defining ``problem.entry_point``) against the tests.

    Raises :class:`ReferenceSolutionError` when the problem's own reference fails in
    the sandbox (then no candidate can be scored against it).
    """
    if problem.dataset not in DATASET_FILES:
        raise ValueError(f"unknown coding dataset {problem.dataset!r}")
    reference = await _reference(problem, pool)
    plus = problem.dataset != "humaneval"
    groups = _groups(problem) if plus else [CallGroup([()])]
    cpu, wall = _time_limits(reference)
    limited = [CallGroup(g.inputs, c, w) for g, c, w in zip(groups, cpu, wall, strict=True)]
    load = max(LOAD_CPU_LIMIT, TIME_LIMIT_FACTOR * reference.load_cpu)
    process_cpu = load + sum(min(GROUP_CPU_CAP, sum(c)) for c in cpu)
    limits = SandboxLimits(
        cpu_seconds=process_cpu + 2 * reference.process_cpu + 2,
        memory_mb=MEMORY_MB,
        max_output_bytes=MAX_OUTPUT_BYTES,
    )
    test = None if plus else problem.test
    report = await run_calls(
        pool,
        solution,
        problem.entry_point,
        limited,
        limits=limits,
        test=test,
        check=not plus,
        load_limits=(load, 2 * load + 1),
    )
    failures = [
        _group_failure(problem, report, reference, g, limited[g]) for g in range(len(groups))
    ]
    if plus and report.loaded and not report.groups[1] and failures[0] is not None:
        # The process died during the base tests: give the plus tests their own run.
        again = await run_calls(
            pool,
            solution,
            problem.entry_point,
            [limited[1]],
            limits=limits,
            load_limits=(load, 2 * load + 1),
        )
        failures[1] = _group_failure(problem, again, reference, 0, limited[1], name="plus")
    first = next((f for f in failures if f is not None), None)
    result = report.result
    return TestOutcome(
        passed=first is None,
        error_kind=None if first is None else first.kind,
        failing_test=None if first is None else first.test,
        detail="" if first is None else first.detail,
        base_passed=(failures[0] is None) if plus else None,
        plus_passed=(failures[1] is None) if plus else None,
        isolation=result.isolation,
        warning=result.warning,
    )


def _groups(problem: CodingProblem) -> list[CallGroup]:
    return [CallGroup(problem.base_inputs or []), CallGroup(problem.plus_inputs or [])]


def _time_limits(reference: _Reference) -> tuple[list[list[float]], list[list[float]]]:
    cpu = [[max(MIN_TIME_LIMIT, TIME_LIMIT_FACTOR * t) for t in times] for times in reference.times]
    wall = [[2 * c + 1 for c in group] for group in cpu]
    return cpu, wall


# -- judging one group --------------------------------------------------------------


def _error_kind(error_type: str) -> str:
    if error_type == "MemoryError":
        return "memory"
    if error_type == "AssertionError":
        return "assertion"
    return "crash"


def _describe(error: CallError) -> str:
    where = f" (line {error.line}: {error.text})" if error.line and error.text else ""
    return f"{error.type}: {error.message}{where}"[:500]


def _process_failure(report: CallsReport, test: str | None) -> _Failure:
    """The process ended before the driver could report: why, from the verdict."""
    result = report.result
    kind = {"timeout": "timeout", "memory": "memory", "output_limit": "output_limit"}.get(
        result.verdict, "crash"
    )
    how = f"exit status {result.exit_code}" if result.signal is None else f"signal {result.signal}"
    tail = result.stderr.strip()[-300:]
    detail = f"the program ended ({result.verdict}, {how})" + (f": {tail}" if tail else "")
    return _Failure(kind, test, detail)


def _load_failure(report: CallsReport) -> _Failure | None:
    if report.syntax_error is not None:
        e = report.syntax_error
        return _Failure("syntax", f"line {e.line}: {e.text}" if e.text else None, _describe(e))
    if report.load_timeout:
        return _Failure("timeout", "module-level code", "module-level code ran out of time")
    if report.load_error is not None:
        e = report.load_error
        return _Failure(_error_kind(e.type), "module-level code", _describe(e))
    if not report.loaded:
        return _process_failure(report, "module-level code")
    return None


def _input_label(name: str, index: int, args: Any) -> str:
    return f"{name} input #{index}: args {_short(tuple(args))}"


def _short(value: Any, size: int = 200) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= size else text[: size - 3] + "..."


def _group_failure(
    problem: CodingProblem,
    report: CallsReport,
    reference: _Reference,
    g: int,
    group: CallGroup,
    *,
    name: str | None = None,
) -> _Failure | None:
    failed = _load_failure(report)
    if failed is not None:
        return failed
    plus = problem.dataset != "humaneval"
    label = name or (_GROUPS[g] if plus else "check")
    results: list[CallResult] = report.groups[g]
    ref_g = _GROUPS.index(label) if plus else 0
    expected = reference.outputs[ref_g] if plus else []
    atol = problem.atol or 0.0
    for i, args in enumerate(group.inputs):
        test = _input_label(label, i, args) if plus else None
        if i >= len(results):
            return _process_failure(report, test)
        got = results[i]
        if got.timeout:
            return _Failure("timeout", test or "check()", f"over its time limit ({label} #{i})")
        if got.error is not None:
            e = got.error
            failing = test or (e.test_text if e.test_text else "check()")
            return _Failure(_error_kind(e.type), failing, _describe(e))
        if plus:
            ok, atol = outputs_match(problem, args, got.output, expected[i], atol)
            if not ok:
                detail = f"expected {_short(expected[i])}, got {_short(got.output)}"
                return _Failure("wrong_answer", test, detail)
    return None


# -- the reference's outputs and times ----------------------------------------------


def _key(problem: CodingProblem) -> str:
    inputs = problem.metadata.get("inputs_sha256")
    if inputs is None:
        raw = marshal.dumps((problem.base_inputs, problem.plus_inputs), 2)
        inputs = hashlib.sha256(raw).hexdigest()
    parts = [
        CACHE_VERSION,
        hashlib.sha256(driver_source().encode()).hexdigest()[:16],
        problem.dataset,
        problem.task_id,
        problem.entry_point,
        problem.canonical_solution,
        problem.test if problem.dataset == "humaneval" else "",
        inputs,
        MEMORY_MB,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _cache_path(problem: CodingProblem, key: str) -> Path:
    return cache_dir() / "coding" / problem.dataset / f"{key}.json"


async def _reference(problem: CodingProblem, pool: SandboxPool) -> _Reference:
    key = _key(problem)
    if key in _memo:
        _memo.move_to_end(key)
        return _memo[key]
    slot = (id(asyncio.get_running_loop()), key)
    pending = _pending.get(slot)
    if pending is None:
        pending = asyncio.ensure_future(_load_or_compute(problem, pool, key))
        _pending[slot] = pending
        pending.add_done_callback(lambda _: _pending.pop(slot, None))
    reference = await asyncio.shield(pending)
    _memo[key] = reference
    while len(_memo) > _MEMO_SIZE:
        _memo.popitem(last=False)
    return reference


async def _load_or_compute(problem: CodingProblem, pool: SandboxPool, key: str) -> _Reference:
    path = _cache_path(problem, key)
    cached = await asyncio.to_thread(_read_cache, path)
    if cached is not None:
        return cached
    reference = await _compute(problem, pool)
    await asyncio.to_thread(_write_cache, path, reference)
    return reference


async def _compute(problem: CodingProblem, pool: SandboxPool) -> _Reference:
    plus = problem.dataset != "humaneval"
    groups = _groups(problem) if plus else [CallGroup([()])]
    report = await run_calls(
        pool,
        problem.canonical_solution,
        problem.entry_point,
        groups,
        limits=REFERENCE_LIMITS,
        test=None if plus else problem.test,
        check=not plus,
    )
    for g, group in enumerate(groups):
        failure = _load_failure(report)
        if failure is None:
            results = report.groups[g]
            broken = next((r for r in results if r.error is not None or r.timeout), None)
            if broken is not None and broken.error is not None:
                failure = _Failure("crash", None, _describe(broken.error))
            elif broken is not None:
                failure = _Failure("timeout", None, "over the reference's own time limit")
            elif len(results) < len(group.inputs):
                failure = _process_failure(report, None)
        if failure is not None:
            where = f"{_GROUPS[g]} inputs" if plus else "tests"
            raise ReferenceSolutionError(
                f"{problem.dataset} {problem.task_id}: the reference solution fails its "
                f"{where} in the sandbox, so the problem cannot be scored: {failure.detail}"
            )
    return _Reference(
        load_cpu=report.load_cpu,
        process_cpu=report.result.cpu_seconds,
        times=[[r.cpu for r in group] for group in report.groups],
        outputs=[[r.output for r in group] for group in report.groups] if plus else [[]],
    )


def _read_cache(path: Path) -> _Reference | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_hook=codec.decode_hook)
        return _Reference(
            load_cpu=float(data["load_cpu"]),
            process_cpu=float(data["process_cpu"]),
            times=[[float(t) for t in group] for group in data["times"]],
            outputs=[list(group) for group in data["outputs"]],
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None  # missing or unreadable: computed again


def _write_cache(path: Path, reference: _Reference) -> None:
    """Write atomically (temp file + rename): concurrent writers leave a whole file."""
    outputs = "[" + ",".join(codec.dumps(group) for group in reference.outputs) + "]"
    text = (
        '{"load_cpu":%r,"process_cpu":%r,"times":%s,"outputs":%s}'  # noqa: UP031
        % (reference.load_cpu, reference.process_cpu, json.dumps(reference.times), outputs)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
