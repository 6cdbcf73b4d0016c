"""The benchwarden runner against inspect_ai on the same items, and the runner's rate-limit
efficiency.

Run from the repository root::

    .venv/bin/python benchmarks/runner_vs_inspect.py            # about 1 min idle, at most 5
    .venv/bin/python benchmarks/runner_vs_inspect.py --quick    # about 30 s idle, at most 90 s

inspect_ai is never installed into the project's environment, nor by this script: it
must already sit in a throwaway venv (``--inspect-venv``, default ``$INSPECT_VENV`` or
``/tmp/inspect-venv``)::

    python3.11 -m venv /tmp/inspect-venv
    /tmp/inspect-venv/bin/pip install inspect-ai openai

(``--ours-only`` measures ours alone.) What is measured, both sides over loopback against
``benchwarden.testing.mock_upstream`` (zero latency, answers echo the prompt so that
``includes`` scoring passes), each in its own process, with the same items, the same
concurrency and the same retry allowance:

1. **ours**: the real CLI, ``python -m benchwarden.cli run -s SUITE.yaml -m mock --config
   models.toml --db results.db --no-cache``, on a no-code suite (YAML + JSONL, scorer
   ``includes``) and a model with ``max_concurrency`` = the concurrency. Every sample is
   committed to SQLite as it completes; all rows must be there with status ok.
2. **inspect_ai**: ``inspect eval task.py --model openai-api/mock/mock --max-connections N``
   on a ``MemoryDataset`` of the same items, ``generate()`` and ``includes()``, writing its
   ``.eval`` log with every sample (``--no-log-realtime``: inspect's live-view buffer is
   off, which only makes it faster; ``--inspect-log-realtime`` turns it back on). Its
   samples are counted from the log.

For each: wall time of the whole subprocess (start-up, run, final write and report),
the run proper from the samples' own timestamps (first start to last finish), and the
peak RSS of the process (``os.wait4``). Both sides share a bytecode cache under /tmp
(``PYTHONPYCACHEPREFIX``), so neither pays for compiling its imports (this environment
sets ``PYTHONDONTWRITEBYTECODE``) and the project's venv is left untouched; a warm-up run
of each side fills it first (``--quick`` skips the warm-up once it is known to be warm).

3. **Rate limit**: ours against a mock that accepts ``--rate-limit`` requests per fixed
   window and answers 429 (with retry-after) beyond. The achieved rate is computed over
   whole windows: the mock opens a window at the first request after the previous one
   expired, and while demand exceeds the limit each window accepts exactly ``limit``
   requests, so the k-th window opens at the (k * limit)-th success. The rate between the
   opening of the second window and that of the last one is compared with the limit; the
   naive figure (successes over first start to last finish, which the last partial window
   inflates) is printed beside it.

A watchdog bounds the whole run; every process started here is stopped on every exit.
Exit status: 0 when the figures were measured (whether or not the targets are met),
1 when a side failed or its results were incomplete, 2 when inspect_ai is missing, 3 when
the hard time limit was hit.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import select
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

RATIO_TARGET = 3.0
RATE_TARGET = 0.97
PYCACHE = Path(tempfile.gettempdir()) / "benchwarden-bench-pycache"
INSPECT_INSTALL = (
    "python3.11 -m venv {venv} && {venv}/bin/pip install inspect-ai openai  "
    "(once, outside this script; never into the project's .venv)"
)


@dataclass(frozen=True, slots=True)
class Settings:
    items: int = 2000
    concurrency: int = 32
    warmup_items: int = 50
    rate_items: int = 1000
    rate_limit: int = 100
    window_s: float = 1.0
    hard_limit_s: float = 290.0

    @staticmethod
    def quick() -> Settings:
        return Settings(items=500, warmup_items=20, rate_items=400, hard_limit_s=88.0)


# ---- processes: every child is started here, in its own session, and stopped on exit ---

_children: list[subprocess.Popen[Any]] = []


def _kill(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the child's process group, only while the child is not yet reaped."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _kill_all() -> None:
    for proc in _children:
        _kill(proc)


def _spawn(argv: Sequence[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[Any]:
    proc: subprocess.Popen[Any] = subprocess.Popen(
        list(argv), env=env, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs
    )
    _children.append(proc)
    return proc


@dataclass(frozen=True, slots=True)
class Exited:
    code: int
    timed_out: bool
    maxrss_mib: float
    cpu_s: float


def _wait(proc: subprocess.Popen[Any], timeout_s: float) -> Exited:
    """Reap ``proc`` with ``os.wait4`` (its own rusage), killing it after ``timeout_s``."""
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        _kill(proc)

    timer = threading.Timer(max(timeout_s, 0.1), expire)
    timer.daemon = True
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if _expired.is_set():
        raise HardLimit
    return Exited(
        code=proc.returncode,
        timed_out=fired.is_set(),
        maxrss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        cpu_s=usage.ru_utime + usage.ru_stime,
    )


class HardLimit(Exception):
    """The run's time budget is spent."""


_expired = threading.Event()  # set by the watchdog


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left for the next step; HardLimit when (nearly) none are."""
        left = self.end - time.monotonic()
        if left < 1.0 or _expired.is_set():
            raise HardLimit
        return left


def child_env(**extra: str) -> dict[str, str]:
    """The parent's environment without anything that could redirect or configure either
    side (proxies, keys, homes), plus a shared bytecode cache under /tmp."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY")
        and not k.startswith(("OPENAI_", "ANTHROPIC_", "INSPECT_", "BENCHWARDEN_", "XDG_"))
        and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "VIRTUAL_ENV")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra)
    return env


# ---- the mock upstream, in its own process ---------------------------------------------

# benchwarden.testing.mock_upstream's own main() parses --echo but does not pass it on to
# MockUpstream, so the same server is started here directly; it also reports its counts
# when stopped.
_MOCK = """
import asyncio, json, signal, sys
from benchwarden.testing.mock_upstream import MockUpstream

async def serve() -> None:
    rate = int(sys.argv[1]) if sys.argv[1] != "-" else None
    mock = MockUpstream(echo=True, rate_limit=rate, window_s=float(sys.argv[2]),
                        keep_bodies=False)
    await mock.start(0)
    print(f"PORT {mock.port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    s = mock.stats
    counts = {"requests": s.requests, "accepted": s.accepted, "rate_limited": s.rate_limited,
              "accepted_at": s.accepted_at}
    print("STATS " + json.dumps(counts), flush=True)
    await mock.stop()

asyncio.run(serve())
"""


@dataclass(slots=True)
class Mock:
    port: int
    requests: int = 0
    accepted: int = 0
    rate_limited: int = 0
    cpu_s: float = 0.0
    accepted_at: list[float] = field(default_factory=list)  # the mock's monotonic clock

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _lines(proc: subprocess.Popen[str], until: str, timeout_s: float) -> str | None:
    """Read ``proc``'s stdout until a line starting with ``until``; None at EOF/timeout."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], min(remaining, 0.2))
        if not ready:
            if proc.poll() is not None:
                return None
            continue
        line = proc.stdout.readline()
        if not line:
            return None
        if line.startswith(until):
            return line[len(until) :].strip()
    return None


@contextlib.contextmanager
def mock_upstream(rate_limit: int | None = None, window_s: float = 1.0) -> Iterator[Mock]:
    rate = "-" if rate_limit is None else str(rate_limit)
    proc = _spawn(
        [sys.executable, "-c", _MOCK, rate, str(window_s)],
        child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    mock = Mock(0)
    try:
        port = _lines(proc, "PORT ", 20.0)
        if port is None:
            raise RuntimeError("the mock upstream did not report its port within 20 s")
        mock.port = int(port)
        yield mock
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            stats = _lines(proc, "STATS ", 5.0)
            exited = _wait(proc, 3.0)
            if stats is not None:
                counts = json.loads(stats)
                mock.requests, mock.accepted = counts["requests"], counts["accepted"]
                mock.rate_limited, mock.cpu_s = counts["rate_limited"], exited.cpu_s
                mock.accepted_at = sorted(counts["accepted_at"])
        if proc.stdout is not None:
            proc.stdout.close()


# ---- the workload, written once for both sides ----------------------------------------


def write_items(folder: Path, name: str, count: int) -> Path:
    """``count`` trivial items (JSONL) and a suite file for them; returns the suite file."""
    folder.mkdir(parents=True, exist_ok=True)
    items = folder / f"{name}.jsonl"
    with items.open("w", encoding="utf-8") as out:
        for i in range(count):
            record = {"id": f"q{i:05d}", "input": f"Repeat the word w{i}.", "target": f"w{i}"}
            out.write(json.dumps(record) + "\n")
    suite = folder / f"{name}.yaml"
    suite.write_text(f"name: {name}\nitems: {items.name}\nscorer: includes\nmax_tokens: 16\n")
    return suite


def write_models(path: Path, base_url: str, concurrency: int) -> Path:
    path.write_text(
        '[models."mock"]\n'
        'provider = "openai"\n'
        f'base_url = "{base_url}"\n'
        'model = "mock"\n'
        'purposes = ["benchmarking"]\n'
        f"max_concurrency = {concurrency}\n"
        "max_attempts = 6\n"  # the default, spelled out: inspect gets --max-retries 5
    )
    return path


_TASK = """
import itertools
import json
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import includes
from inspect_ai.solver import generate

@task
def trivial() -> Task:
    with open({items!r}, encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    samples = [Sample(id=r["id"], input=r["input"], target=r["target"]) for r in records]
    return Task(dataset=MemoryDataset(samples), solver=generate(), scorer=includes())
"""

# Run with inspect's own Python: its log's header and per-sample summaries, as JSON.
_READ_LOG = """
import json, sys
from datetime import datetime
from pathlib import Path
import inspect_ai
from inspect_ai.log import read_eval_log, read_eval_log_sample_summaries
from inspect_ai.scorer import CORRECT

def stamp(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.timestamp()

logs = sorted(Path(sys.argv[1]).glob("*.eval"))
out = {"version": inspect_ai.__version__, "logs": len(logs)}
if logs:
    header = read_eval_log(str(logs[-1]), header_only=True)
    summaries = read_eval_log_sample_summaries(str(logs[-1]))
    ok = [s for s in summaries if s.error is None and s.completed is not False]
    starts = [stamp(s.started_at) for s in ok if s.started_at is not None]
    ends = [stamp(s.completed_at) for s in ok if s.completed_at is not None]
    results = header.results
    out.update(
        status=header.status,
        completed=results.completed_samples if results else 0,
        samples=len(summaries),
        ok=len(ok),
        passed=sum(
            1 for s in ok if any(v.value == CORRECT for v in (s.scores or {}).values())
        ),
        first_start=min(starts) if starts else None,
        last_end=max(ends) if ends else None,
        log_bytes=logs[-1].stat().st_size,
    )
print(json.dumps(out))
"""


# ---- one side's run ---------------------------------------------------------------------


@dataclass(slots=True)
class SideResult:
    name: str
    items: int
    exited: Exited
    wall_s: float
    launched_at: float  # epoch seconds
    exited_at: float
    ok: int = 0
    errors: int = 0
    passed: int = 0
    first_start: float | None = None
    last_end: float | None = None
    requests: int = 0
    problem: str | None = None

    @property
    def run_s(self) -> float | None:
        if self.first_start is None or self.last_end is None:
            return None
        return self.last_end - self.first_start


def _timed(
    argv: Sequence[str], env: dict[str, str], log: Path, timeout_s: float
) -> tuple[Exited, float, float, float]:
    """Run to completion; (exit, wall seconds, launch epoch, exit epoch)."""
    with log.open("wb") as out:
        launched_at = time.time()
        start = time.perf_counter()
        proc = _spawn(argv, env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
        exited = _wait(proc, timeout_s)
        wall = time.perf_counter() - start
    return exited, wall, launched_at, time.time()


def _tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join("    | " + line for line in text)


def _epoch(text: str) -> float:
    # The store keeps naive UTC text in SQLite.
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def run_ours(
    folder: Path, suite: Path, base_url: str, settings: Settings, run_id: str, timeout_s: float
) -> SideResult:
    home = folder / f"home-{run_id}"
    home.mkdir(parents=True, exist_ok=True)
    models = write_models(folder / f"models-{run_id}.toml", base_url, settings.concurrency)
    db = folder / f"{run_id}.db"
    argv = [
        *(sys.executable, "-m", "benchwarden.cli", "run", "-s", str(suite), "-m", "mock"),
        *("--config", str(models), "--db", str(db), "--no-cache", "--run-id", run_id),
    ]
    log = folder / f"{run_id}.log"
    exited, wall, launched, ended = _timed(
        argv, child_env(BENCHWARDEN_HOME=str(home), COLUMNS="120"), log, timeout_s
    )
    count = sum(1 for line in suite.with_suffix(".jsonl").open() if line.strip())
    result = SideResult("ours", count, exited, wall, launched, ended)
    if exited.code != 0 or exited.timed_out:
        result.problem = f"exit {exited.code}{' (timed out)' if exited.timed_out else ''}"
        print(f"  ours failed ({result.problem}); its output ends with:\n{_tail(log)}")
    if not db.exists():
        result.problem = result.problem or "no results database"
        return result
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for status, n, passed in conn.execute(
            "SELECT status, count(*), sum(coalesce(passed, 0)) FROM samples "
            "WHERE run_id = ? GROUP BY status",
            (run_id,),
        ):
            if status == "ok":
                result.ok, result.passed = int(n), int(passed or 0)
            else:
                result.errors += int(n)
        first, last = conn.execute(
            "SELECT min(started_at), max(finished_at) FROM samples "
            "WHERE run_id = ? AND status = 'ok'",
            (run_id,),
        ).fetchone()
    if first is not None and last is not None:
        result.first_start, result.last_end = _epoch(first), _epoch(last)
    if result.ok != count and result.problem is None:
        result.problem = f"{result.ok} of {count} rows ok, {result.errors} errors"
    return result


def ours_finish_times(db: Path, run_id: str) -> tuple[list[float], float | None]:
    """The ok samples' finish times, sorted, and the first start."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        ends = sorted(
            _epoch(row[0])
            for row in conn.execute(
                "SELECT finished_at FROM samples WHERE run_id = ? AND status = 'ok'", (run_id,)
            )
        )
        (first,) = conn.execute(
            "SELECT min(started_at) FROM samples WHERE run_id = ?", (run_id,)
        ).fetchone()
    return ends, None if first is None else _epoch(first)


def inspect_flags(venv: Path, deadline: Deadline) -> list[str]:
    """Flags that this inspect_ai version knows, among the ones that disable extras: read
    from its CLI's source (cheap), else from ``inspect eval --help``."""
    sources = sorted(venv.glob("lib/python3*/site-packages/inspect_ai/_cli/eval.py"))
    if sources:
        known = sources[-1].read_text(errors="replace")
    else:
        proc = _spawn(
            [str(venv / "bin" / "inspect"), "eval", "--help"],
            child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        known = proc.stdout.read() if proc.stdout is not None else ""
        _wait(proc, min(60.0, deadline.left()))
    flags: list[str] = []
    if "--ctl-server" in known:
        flags += ["--ctl-server", "false"]  # no control socket
    if "--no-log-realtime" in known:
        flags.append("--no-log-realtime")
    return flags


def warm_marker(venv: Path | None) -> Path:
    """A file in the shared bytecode cache saying a warm-up has filled it for these two
    environments (as they were installed)."""
    parts = [sys.executable, str(Path(sys.executable).resolve().stat().st_mtime)]
    if venv is not None and (venv / "bin" / "inspect").exists():
        parts += [str(venv), str((venv / "bin" / "inspect").stat().st_mtime)]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return PYCACHE / f"warm-{digest}"


def run_inspect(
    venv: Path,
    folder: Path,
    items: Path,
    base_url: str,
    settings: Settings,
    name: str,
    flags: Sequence[str],
    timeout_s: float,
) -> tuple[SideResult, str]:
    """Returns the result and inspect_ai's version."""
    task = folder / f"task_{name}.py"
    task.write_text(_TASK.format(items=str(items)))
    logs = folder / f"logs-{name}"
    home = folder / f"inspect-home-{name}"
    env = child_env(
        MOCK_BASE_URL=base_url,
        MOCK_API_KEY="not-a-key",
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
    )
    home.mkdir(parents=True, exist_ok=True)
    argv = [
        *(str(venv / "bin" / "inspect"), "eval", task.name, "--model", "openai-api/mock/mock"),
        *("--max-connections", str(settings.concurrency), "--max-retries", "5"),
        *("--max-tokens", "16", "--log-dir", str(logs), "--log-format", "eval"),
        *("--display", "none", "--no-fail-on-error", *flags),
    ]
    log = folder / f"{name}.log"
    exited, wall, launched, ended = _timed(argv, env, log, timeout_s)
    count = sum(1 for line in items.open() if line.strip())
    result = SideResult("inspect_ai", count, exited, wall, launched, ended)
    if exited.code != 0 or exited.timed_out:
        result.problem = f"exit {exited.code}{' (timed out)' if exited.timed_out else ''}"
        print(f"  inspect failed ({result.problem}); its output ends with:\n{_tail(log)}")
    reader = _spawn(
        [str(venv / "bin" / "python"), "-c", _READ_LOG, str(logs)],
        env,
        stdout=subprocess.PIPE,
        text=True,
    )
    out = reader.stdout.read() if reader.stdout is not None else ""
    read = _wait(reader, 60.0)
    if read.code != 0 or not out.strip():
        result.problem = result.problem or "could not read inspect's log"
        return result, "?"
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if not summary["logs"]:
        result.problem = result.problem or "inspect wrote no log"
        return result, str(summary["version"])
    result.ok, result.passed = int(summary["ok"]), int(summary["passed"])
    result.errors = int(summary["samples"]) - result.ok
    result.first_start, result.last_end = summary["first_start"], summary["last_end"]
    if result.problem is None and (summary["status"] != "success" or result.ok != count):
        result.problem = (
            f"log status {summary['status']}: {result.ok} of {count} samples ok, "
            f"{summary['completed']} completed"
        )
    return result, str(summary["version"])


# ---- the rate limit, over whole windows ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateFigure:
    whole_windows: int
    whole_rate: float | None  # successes per second between window openings
    naive_rate: float | None
    late_ms: tuple[float, ...]  # per whole window: its period beyond window_s
    bursts: tuple[int, ...]  # successes per burst, bursts split at gaps > window_s / 4


def rate_over_windows(
    ends: Sequence[float], first_start: float | None, limit: int, window_s: float
) -> RateFigure:
    """``ends``: sorted finish times of the successful calls.

    Window k opens at success number k * limit (the mock opens a window at the first
    request after the last one expired, and fills each with exactly ``limit`` successes
    while demand exceeds it). The first window is left out (it opens with the run, its
    start-up included), so is the last (partial, and followed by no opening). As a check
    on that reading, the successes are also split into bursts at silent gaps: every
    burst but the last should hold ``limit``.
    """
    n = len(ends)
    naive = None
    if first_start is not None and n and ends[-1] > first_start:
        naive = n / (ends[-1] - first_start)
    bursts: list[int] = [1] if n else []
    for before, after in itertools.pairwise(ends):
        if after - before > window_s / 4:
            bursts.append(0)
        bursts[-1] += 1
    last = (n - 1) // limit if n else 0  # index of the last window that opened
    if last < 2:
        return RateFigure(0, None, naive, (), tuple(bursts))
    openings = [ends[k * limit] for k in range(1, last + 1)]
    late = tuple(1000 * (b - a - window_s) for a, b in itertools.pairwise(openings))
    span = openings[-1] - openings[0]
    whole = last - 1
    rate = whole * limit / span if span > 0 else None
    return RateFigure(whole, rate, naive, late, tuple(bursts))


# ---- reporting ------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "—" if value is None else format(value, spec)


def print_sides(sides: Sequence[SideResult], mocks: Sequence[Mock]) -> None:
    header = (
        f"  {'side':<11}{'wall s':>8}{'items/s':>9}{'run s':>8}{'items/s':>9}"
        f"{'start s':>9}{'end s':>7}{'peak RSS':>10}{'CPU s':>7}{'ok':>7}{'passed':>8}"
        f"{'mock req':>10}{'mock CPU':>10}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for side, mock in zip(sides, mocks, strict=True):
        run_s = side.run_s
        startup = None if side.first_start is None else side.first_start - side.launched_at
        ending = None if side.last_end is None else side.exited_at - side.last_end
        print(
            f"  {side.name:<11}{side.wall_s:>8.2f}{side.items / side.wall_s:>9.1f}"
            f"{_fmt(run_s, '.2f'):>8}"
            f"{_fmt(side.items / run_s if run_s else None):>9}"
            f"{_fmt(startup, '.2f'):>9}{_fmt(ending, '.2f'):>7}"
            f"{side.exited.maxrss_mib:>7.0f} MiB{side.exited.cpu_s:>7.1f}"
            f"{side.ok:>7}{side.passed:>8}{mock.requests:>10}{mock.cpu_s:>9.1f}s"
        )
    print(
        "  (wall: the whole process; run: first sample start to last sample finish; "
        "start/end: launch to first start, last finish to exit)"
    )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


# ---- main -------------------------------------------------------------------------------------


def _watchdog(seconds: float) -> threading.Timer:
    def expire() -> None:
        print(f"\nhard limit of {seconds:g} s reached; stopping everything", flush=True)
        _expired.set()
        _kill_all()  # the main thread, waiting on one of them, unwinds and cleans up
        time.sleep(10.0)
        _kill_all()
        os._exit(3)  # it did not: leave anyway

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def measure(
    settings: Settings, venv: Path | None, folder: Path, *, realtime: bool, warmup: bool
) -> int:
    deadline = Deadline(settings.hard_limit_s - 3.0)
    load_before = _load()
    suite = write_items(folder / "suite", "trivial", settings.items)
    warm_suite = write_items(folder / "suite", "warmup", settings.warmup_items)
    rate_suite = write_items(folder / "suite", "ratelimit", settings.rate_items)
    failed = False

    flags: list[str] = []
    if venv is not None:
        flags = inspect_flags(venv, deadline)
        if realtime and "--no-log-realtime" in flags:
            flags.remove("--no-log-realtime")

    # Warm-up: bytecode cache, page cache, first-run work of either tool; not reported.
    # --quick skips it once the shared bytecode cache is known to be warm.
    marker = warm_marker(venv)
    if warmup or not marker.exists():
        print(f"warming up ({settings.warmup_items} items per side)...", flush=True)
        with mock_upstream() as mock:
            warm = run_ours(folder, warm_suite, mock.base_url, settings, "warmup", deadline.left())
            warm_inspect = None
            if venv is not None:
                warm_inspect, _ = run_inspect(
                    venv,
                    folder,
                    warm_suite.with_suffix(".jsonl"),
                    mock.base_url,
                    settings,
                    "inspect-warmup",
                    flags,
                    deadline.left(),
                )
        if warm.problem:
            print(f"the warm-up run of ours failed: {warm.problem}")
            return 1
        if warm_inspect is None or warm_inspect.problem is None:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
    else:
        print("warm-up skipped: the bytecode cache is warm (--warmup forces one)", flush=True)

    sides: list[SideResult] = []
    mocks: list[Mock] = []
    version = "?"
    print(f"ours: {settings.items} items...", flush=True)
    with mock_upstream() as mock:
        sides.append(run_ours(folder, suite, mock.base_url, settings, "bench", deadline.left()))
    mocks.append(mock)
    if venv is not None:
        print(f"inspect_ai: {settings.items} items...", flush=True)
        with mock_upstream() as mock:
            result, version = run_inspect(
                venv,
                folder,
                suite.with_suffix(".jsonl"),
                mock.base_url,
                settings,
                "inspect",
                flags,
                deadline.left(),
            )
            sides.append(result)
        mocks.append(mock)

    print(
        f"rate limit: {settings.rate_items} items, {settings.rate_limit} per "
        f"{settings.window_s:g} s window...",
        flush=True,
    )
    with mock_upstream(settings.rate_limit, settings.window_s) as rate_mock:
        rated = run_ours(folder, rate_suite, rate_mock.base_url, settings, "rate", deadline.left())
    ends, first = ours_finish_times(folder / "rate.db", "rate")
    figure = rate_over_windows(ends, first, settings.rate_limit, settings.window_s)
    at_mock = rate_over_windows(rate_mock.accepted_at, None, settings.rate_limit, settings.window_s)

    limit_rate = settings.rate_limit / settings.window_s
    print()
    print(
        f"benchwarden runner vs inspect_ai {version} · {settings.items} trivial items · "
        f"concurrency {settings.concurrency} · zero-latency loopback mock"
    )
    print(f"load average {load_before} before, {_load()} after")
    print(f"inspect flags: {' '.join(flags) or '(none)'}")
    print_sides(sides, mocks)
    for side in sides:
        if side.problem:
            failed = True
            print(f"  {side.name}: NOT MEASURED: {side.problem}")
    if len(sides) == 2 and not failed:
        ours, theirs = sides
        wall_ratio = theirs.wall_s / ours.wall_s
        ours_run, theirs_run = ours.run_s, theirs.run_s
        run_ratio = theirs_run / ours_run if ours_run and theirs_run else None
        verdict = "met" if wall_ratio >= RATIO_TARGET else "NOT met"
        print(
            f"  ratio ours/inspect (samples per second): {wall_ratio:.1f}x on wall time, "
            f"{_fmt(run_ratio)}x on run time (target >= {RATIO_TARGET:g}x on wall: {verdict})"
        )

    print()
    print(
        f"rate limit: {settings.rate_items} items, {settings.rate_limit} requests per "
        f"{settings.window_s:g} s fixed window (429 + retry-after beyond), concurrency "
        f"{settings.concurrency}"
    )
    print(
        f"  ok {rated.ok}, errors {rated.errors}; mock: {rate_mock.requests} requests, "
        f"{rate_mock.rate_limited} answered 429; wall {rated.wall_s:.2f} s"
    )
    if rated.problem:
        failed = True
        print(f"  NOT MEASURED: {rated.problem}")
    if figure.whole_rate is not None:
        fraction = figure.whole_rate / limit_rate
        verdict = "met" if fraction >= RATE_TARGET else "NOT met"
        print(
            f"  over {figure.whole_windows} whole windows (2nd opening to last): "
            f"{figure.whole_rate:.1f} req/s = {fraction:.3f} of the limit "
            f"(target >= {RATE_TARGET}: {verdict})"
        )
    else:
        failed = True
        print("  too few windows to measure whole windows: raise --rate-items")
    if at_mock.whole_rate is not None:
        print(
            f"  the same from the mock's own accept times: {at_mock.whole_rate:.1f} req/s = "
            f"{at_mock.whole_rate / limit_rate:.3f} of the limit"
        )
    if figure.late_ms:
        print(
            f"  each window reopened {statistics.mean(figure.late_ms):.0f} ms late on average "
            f"(min {min(figure.late_ms):.0f}, max {max(figure.late_ms):.0f} ms)"
        )
    full = figure.bursts[:-1]
    check = "consistent" if all(b == settings.rate_limit for b in full) else "INCONSISTENT"
    print(
        f"  successes per burst (split at silent gaps): {' '.join(map(str, figure.bursts))} "
        f"({check} with {settings.rate_limit} per window)"
    )
    if figure.naive_rate is not None:
        print(
            f"  naive, ok / (last finish - first start): {figure.naive_rate:.1f} req/s = "
            f"{figure.naive_rate / limit_rate:.3f} of the limit (the last, partial window "
            "inflates it)"
        )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 items, at most 90 s")
    parser.add_argument("--items", type=int, help="items per side (default 2000; quick 500)")
    parser.add_argument("--rate-items", type=int, help="items in the rate-limit run")
    parser.add_argument("--concurrency", type=int, help="concurrent calls per side (32)")
    parser.add_argument(
        "--inspect-venv",
        type=Path,
        default=Path(os.environ.get("INSPECT_VENV", "/tmp/inspect-venv")),
        help="venv holding inspect_ai (default $INSPECT_VENV or /tmp/inspect-venv)",
    )
    parser.add_argument("--ours-only", action="store_true", help="skip inspect_ai (no comparison)")
    parser.add_argument(
        "--inspect-log-realtime",
        action="store_true",
        help="leave inspect's realtime sample buffer on (its default; slower)",
    )
    parser.add_argument(
        "--warmup", action="store_true", help="warm up even with --quick (always without)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    settings = Settings.quick() if args.quick else Settings()
    overrides = {
        "items": args.items,
        "rate_items": args.rate_items,
        "concurrency": args.concurrency,
    }
    settings = Settings(
        **{
            **{f: getattr(settings, f) for f in Settings.__dataclass_fields__},
            **{k: v for k, v in overrides.items() if v is not None},
        }
    )
    if min(settings.items, settings.rate_items, settings.concurrency) < 1:
        parser.error("--items, --rate-items and --concurrency must be at least 1")

    venv: Path | None = args.inspect_venv
    if not args.ours_only:
        assert venv is not None
        if not (venv / "bin" / "inspect").exists() or not (venv / "bin" / "python").exists():
            print(f"inspect_ai is not installed in {venv}. Create it with:")
            print("  " + INSPECT_INSTALL.format(venv=venv))
            print("or pass --inspect-venv DIR, or --ours-only.")
            return 2
    else:
        venv = None

    signal.signal(signal.SIGTERM, _on_signal)
    watchdog = _watchdog(settings.hard_limit_s)
    folder = Path(tempfile.mkdtemp(prefix="bw-runner-vs-inspect-"))
    started = time.monotonic()
    try:
        code = measure(
            settings,
            venv,
            folder,
            realtime=args.inspect_log_realtime,
            warmup=not args.quick or args.warmup,
        )
    except HardLimit:
        print(f"stopped: the hard limit of {settings.hard_limit_s:g} s was reached")
        code = 3
    finally:
        watchdog.cancel()
        _kill_all()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"done in {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
