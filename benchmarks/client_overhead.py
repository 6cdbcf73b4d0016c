"""Client overhead against the raw openai SDK, and throughput under a mock rate limit.

Run from the repository root::

    .venv/bin/python benchmarks/client_overhead.py            # about 50 s
    .venv/bin/python benchmarks/client_overhead.py --quick    # about 15 s

Both measurements talk over loopback to ``benchwarden.testing.mock_upstream`` running
in its own process (zero latency), so the figures are dominated by client-side CPU:

1. Overhead: our ``ModelClient`` (``open_client(..., use_cache=False)``: pacing, retry,
   httpx transport) and ``openai.AsyncOpenAI`` (``max_retries=0``) are driven by the
   same number of concurrent workers over a connection pool of the same size. Rounds
   alternate (ours, SDK, ours, SDK, ...), each in a fresh event loop with a fresh
   client, a warm-up first; the medians and their ratio are reported.
2. Rate limit: a second mock accepts ``--rate-limit`` requests per fixed window and
   answers 429 (retry-after-ms, x-ratelimit-*) beyond. More workers than the limit
   needs loop on our client, which paces and retries by itself; the achieved rate of
   successful calls is compared with the limit.

A watchdog bounds the whole run; the mock processes are stopped on every exit.
Exit status is 0 when the figures were measured, whether or not the targets are met.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import importlib.metadata
import itertools
import os
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

import httpx2
import openai

from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import ModelError
from benchwarden.models.factory import open_client
from benchwarden.models.pacing.retry import RetryPolicy
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import GenerateRequest

OVERHEAD_TARGET = 0.9
RATE_TARGET = 0.97


@dataclass(frozen=True, slots=True)
class Settings:
    concurrency: int = 32
    rounds: int = 5  # per side; the sides alternate
    warmup_s: float = 0.5
    measure_s: float = 3.0
    rate_limit: int = 200
    window_s: float = 1.0
    rate_warmup_s: float = 2.0
    rate_measure_s: float = 10.0
    hard_limit_s: float = 90.0  # the watchdog's limit for the whole run

    @staticmethod
    def quick() -> Settings:
        return Settings(
            rounds=3,
            warmup_s=0.3,
            measure_s=1.0,
            rate_warmup_s=1.2,
            rate_measure_s=4.5,
            hard_limit_s=40.0,
        )


# ---- the mock upstream, in its own process -------------------------------------------


def _read_port(proc: subprocess.Popen[str], timeout_s: float) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        if proc.poll() is not None:
            raise RuntimeError(f"the mock upstream exited early (status {proc.returncode})")
        ready, _, _ = select.select([proc.stdout], [], [], min(remaining, 0.2))
        if not ready:
            continue
        line = proc.stdout.readline()
        if line.startswith("PORT "):
            return int(line.split()[1])
        if not line:  # EOF
            proc.wait(1.0)
    raise RuntimeError(f"the mock upstream did not report its port within {timeout_s:g}s")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(3.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3.0)
    if proc.stdout is not None:
        proc.stdout.close()


_children: list[subprocess.Popen[str]] = []  # for the watchdog


@contextlib.contextmanager
def mock_upstream(*extra_args: str) -> Iterator[int]:
    """Start ``python -m benchwarden.testing.mock_upstream --port 0``; yield its port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchwarden.testing.mock_upstream", "--port", "0", *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    _children.append(proc)
    try:
        yield _read_port(proc, timeout_s=15.0)
    finally:
        _stop(proc)


def _spec(port: int, concurrency: int) -> ModelSpec:
    return ModelSpec(
        name="mock",
        provider="openai",
        upstream_model="mock",
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key_env=None,
        max_concurrency=concurrency,
    )


# ---- 1. overhead -----------------------------------------------------------------------


@dataclass(slots=True)
class Round:
    side: str
    calls_per_s: float
    errors: Counter[str] = field(default_factory=Counter)
    http_library: str = "?"  # the package of the client's HTTP connection pool


def _http_library(http_client: object) -> str:
    """The distribution of the HTTP client class (or of its first httpx-like base)."""
    roots = [cls.__module__.split(".")[0] for cls in type(http_client).__mro__]
    root = next((r for r in roots if r.startswith("httpx")), roots[0])
    with contextlib.suppress(importlib.metadata.PackageNotFoundError, ValueError):
        return f"{root} {importlib.metadata.version(root)}"
    return root


async def _drive(
    call: Callable[[], Awaitable[object]], concurrency: int, warmup_s: float, measure_s: float
) -> tuple[float, Counter[str]]:
    """``concurrency`` workers loop on ``call``; completed calls/s after the warm-up."""
    done = 0
    errors: Counter[str] = Counter()
    stop = False

    async def worker() -> None:
        nonlocal done
        while not stop:
            try:
                await call()
            except (ModelError, openai.OpenAIError) as exc:
                errors[type(exc).__name__] += 1
            else:
                done += 1

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.sleep(warmup_s)
        n0, t0 = done, time.perf_counter()
        await asyncio.sleep(measure_s)
        n1, t1 = done, time.perf_counter()
        stop = True
        await asyncio.wait(tasks, timeout=5.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return (n1 - n0) / (t1 - t0), errors


async def _ours_round(port: int, s: Settings) -> Round:
    client = open_client(_spec(port, s.concurrency), use_cache=False)

    async def call() -> object:
        return await client.generate(GenerateRequest.from_prompt("hi", max_tokens=16))

    # PacedClient.transport._http: read only to name the HTTP library in the report.
    http = getattr(getattr(client, "transport", None), "_http", None)
    try:
        rate, errors = await _drive(call, s.concurrency, s.warmup_s, s.measure_s)
    finally:
        await client.aclose()
    return Round("ours", rate, errors, _http_library(http))


async def _sdk_round(port: int, s: Settings) -> Round:
    # The SDK runs on httpx2 (not httpx): DefaultAsyncHttpxClient is an httpx2.AsyncClient
    # with the SDK's defaults, given here a pool as large as ours.
    limits = httpx2.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency)
    http = openai.DefaultAsyncHttpxClient(limits=limits)
    client = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, http_client=http
    )

    async def call() -> object:
        return await client.chat.completions.create(
            model="mock", messages=[{"role": "user", "content": "hi"}], max_tokens=16
        )

    try:
        rate, errors = await _drive(call, s.concurrency, s.warmup_s, s.measure_s)
    finally:
        await client.close()
    return Round("sdk", rate, errors, _http_library(http))


def measure_overhead(port: int, s: Settings) -> tuple[float, float, list[Round]]:
    rounds: list[Round] = []
    for i in range(s.rounds):
        for side in (_ours_round, _sdk_round):
            r = asyncio.run(side(port, s))  # a fresh event loop per round
            rounds.append(r)
            extra = f", errors {dict(r.errors)}" if r.errors else ""
            print(f"  round {i + 1} {r.side:>4}: {r.calls_per_s:7.0f} calls/s{extra}", flush=True)
    ours = statistics.median(r.calls_per_s for r in rounds if r.side == "ours")
    sdk = statistics.median(r.calls_per_s for r in rounds if r.side == "sdk")
    return ours, sdk, rounds


# ---- 2. rate-limited throughput ---------------------------------------------------------


@dataclass(slots=True)
class RateResult:
    rate: float  # successful calls/s over whole windows (see ``_windowed_rate``)
    how: str
    naive_rate: float  # successes in the measured interval / its length
    per_window: list[int]
    errors: Counter[str]
    retries: int | None
    rate_limit_events: int | None


def _window_openings(
    successes: list[float], start: float, end: float, window_s: float
) -> list[int]:
    """Indices of the successes that open a window, from ``start`` to ``end``.

    Windows last ``window_s`` at least and the next one opens a little after, so the
    first opening lies within 1.1 window of ``start`` and each next one between 0.95
    and 1.5 windows after the previous one. Within each such span the opening is the
    success after the longest silence: a saturating client spends the end of every
    window paused, having used up the allowance, while inside a window it leaves only
    short gaps (a retry wait, a hiccup).
    """
    openings: list[int] = []
    lo, hi = start, start + 1.1 * window_s
    while lo < end:
        first = max(1, bisect.bisect_left(successes, lo))
        last = bisect.bisect_left(successes, min(hi, end))
        if first >= last:  # nothing there (a stall): look again from there
            lo, hi = hi, hi + 1.1 * window_s
            continue
        best = max(range(first, last), key=lambda k: successes[k] - successes[k - 1])
        openings.append(best)
        lo, hi = successes[best] + 0.95 * window_s, successes[best] + 1.5 * window_s
    return openings


def _windowed_rate(
    successes: list[float], start: float, end: float, window_s: float
) -> tuple[float, str, list[int]]:
    """Successful calls/s between the first and the last window opening seen.

    The mock's fixed window opens at the first request after the previous window has
    expired, not on a grid, so the boundaries cannot be known in advance; they are
    found afterwards from the successes (``_window_openings``; the first success of a
    window trails its opening by one round trip, the same shift at both ends).
    Counting the successes from the first opening after the warm-up up to, not
    including, the last opening covers whole windows only, so the rate does not depend
    on where the measurement happens to start or stop inside a window, and any
    lateness of the client in reopening a window counts against it, since it
    lengthens the interval. With fewer than two openings the plain rate over the
    measured interval is used instead.
    """
    openings = _window_openings(successes, start, end, window_s)
    if len(openings) >= 2:
        first, last = openings[0], openings[-1]
        span = successes[last] - successes[first]
        per_window = [b - a for a, b in itertools.pairwise(openings)]
        silences = [successes[i] - successes[i - 1] for i in openings]
        how = (
            f"{len(per_window)} whole windows ({span:.2f}s); silence before an opening "
            f"{1000 * min(silences):.0f} to {1000 * max(silences):.0f} ms"
        )
        return (last - first) / span, how, per_window
    inside = sum(1 for t in successes if start <= t < end)
    return inside / (end - start), "the plain interval (no window openings found)", []


async def _rate_limited_run(port: int, s: Settings) -> RateResult:
    # Default attempts; the time budget only keeps a stuck call from outliving the run.
    policy = RetryPolicy(time_budget_s=s.rate_warmup_s + s.rate_measure_s)
    client: ModelClient = open_client(_spec(port, s.concurrency), use_cache=False, policy=policy)
    successes: list[float] = []
    errors: Counter[str] = Counter()
    stop = False

    async def worker() -> None:
        while not stop:
            try:
                await client.generate(GenerateRequest.from_prompt("hi", max_tokens=16))
            except ModelError as exc:
                errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
            else:
                successes.append(time.monotonic())

    began = time.monotonic()
    tasks = [asyncio.create_task(worker()) for _ in range(s.concurrency)]
    try:
        await asyncio.sleep(s.rate_warmup_s + s.rate_measure_s)
        ended = time.monotonic()
        stop = True
        # Calls caught in a retry wait finish within about one window.
        await asyncio.wait(tasks, timeout=s.window_s + 1.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()

    start = began + s.rate_warmup_s
    rate, how, per_window = _windowed_rate(successes, start, ended, s.window_s)
    naive = sum(1 for t in successes if start <= t < ended) / (ended - start)
    limiter = getattr(client, "limiter", None)
    return RateResult(
        rate=rate,
        how=how,
        naive_rate=naive,
        per_window=per_window,
        errors=errors,
        retries=getattr(client, "retries", None),
        rate_limit_events=getattr(limiter, "rate_limit_events", None),
    )


# ---- main ------------------------------------------------------------------------------


def _watchdog(limit_s: float) -> threading.Timer:
    """Past ``limit_s``, kill the mocks and exit at once, whatever the event loop does."""

    def expire() -> None:
        print(f"client_overhead: over the {limit_s:g}s limit, aborting", file=sys.stderr)
        for proc in _children:
            with contextlib.suppress(OSError):
                proc.kill()
        os._exit(3)

    timer = threading.Timer(limit_s, expire)
    timer.daemon = True
    timer.start()
    return timer


def _on_term(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)  # unwinds through the finally blocks that stop the mocks


def _versions(*dists: str) -> str:
    found = []
    for dist in dists:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{dist} {importlib.metadata.version(dist)}")
    return ", ".join(found)


def _met(value: float, target: float) -> str:
    return "met" if value >= target else "NOT MET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a shorter run (about 15 s)")
    args = parser.parse_args()
    s = Settings.quick() if args.quick else Settings()

    signal.signal(signal.SIGTERM, _on_term)
    watchdog = _watchdog(s.hard_limit_s)
    load_before = os.getloadavg()[0]
    t_start = time.monotonic()
    try:
        with (
            mock_upstream() as port,
            mock_upstream("--rate-limit", str(s.rate_limit), "--window", str(s.window_s)) as rl,
        ):
            print(
                f"1. client overhead: {s.concurrency} workers, {s.rounds} rounds per side, "
                f"{s.warmup_s:g}s warm-up + {s.measure_s:g}s each",
                flush=True,
            )
            ours, sdk, rounds = measure_overhead(port, s)
            print(
                f"2. rate limit {s.rate_limit} per {s.window_s:g}s window: {s.concurrency} "
                f"workers, {s.rate_warmup_s:g}s warm-up + {s.rate_measure_s:g}s",
                flush=True,
            )
            rl_result = asyncio.run(_rate_limited_run(rl, s))
    finally:
        watchdog.cancel()

    limit_per_s = s.rate_limit / s.window_s
    ratio = ours / sdk if sdk else float("nan")
    rate_ratio = rl_result.rate / limit_per_s
    overhead_errors = sum(sum(r.errors.values()) for r in rounds)
    n_errors = sum(rl_result.errors.values())
    if rl_result.per_window:
        pw = rl_result.per_window
        print(
            f"  successes per window: min {min(pw)}, median {statistics.median(pw):g}, "
            f"max {max(pw)}"
        )
        if max(pw) > s.rate_limit:
            print(
                "  warning: a window above the limit means the openings were ambiguous: the "
                "client left no clear pause between windows (it is barely faster than the "
                "limit, or short of CPU), so the windowed figure is approximate"
            )
    print(
        f"  measured over {rl_result.how}; plain rate over the interval "
        f"{rl_result.naive_rate:.1f}/s; 429s seen {rl_result.rate_limit_events}, "
        f"retries {rl_result.retries}"
    )
    if ours < 1.5 * limit_per_s:
        print(
            f"  note: our client's own ceiling in part 1 ({ours:.0f} calls/s) is only "
            f"{ours / limit_per_s:.1f}x the limit: the rate-limited figure is CPU-bound too"
        )
    for message, count in rl_result.errors.most_common(5):
        print(f"  error x{count}: {message}")
    libs = {r.side: r.http_library for r in rounds}
    print(
        f"  HTTP library: ours on {libs.get('ours')}, openai {openai.__version__} on "
        f"{libs.get('sdk')}; installed: {_versions('httpcore', 'httpcore2')}"
    )
    print(
        f"  wall time {time.monotonic() - t_start:.1f}s, {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after "
        "(client and mock share the machine)"
    )
    print()
    print(
        f"client overhead (concurrency {s.concurrency}): ours {ours:.0f} calls/s, "
        f"openai SDK {sdk:.0f} calls/s, ratio {ratio:.2f} "
        f"(target >= {OVERHEAD_TARGET}: {_met(ratio, OVERHEAD_TARGET)}), "
        f"{overhead_errors} errors"
    )
    print(
        f"rate-limited throughput: {rl_result.rate:.1f} req/s against a limit of "
        f"{limit_per_s:g}/s = {rate_ratio:.3f} "
        f"(target >= {RATE_TARGET}: {_met(rate_ratio, RATE_TARGET)}), {n_errors} errors"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
