"""Polyglot check cost: every reference solution's tests in the sandbox, per language.

Run from the repository root (needs bubblewrap, and BENCHWARDEN_DATA_MIRROR or network
for the exercises; installs nothing)::

    .venv/bin/python benchmarks/polyglot_check.py                       # every language
    .venv/bin/python benchmarks/polyglot_check.py --language python --rounds 3
    .venv/bin/python benchmarks/polyglot_check.py --stubs --json /tmp/polyglot.json

For each language registered in ``bench/agentic/toolchains`` (a language that is not,
or whose toolchain is missing here, is listed with the reason), the exercises'
reference solutions (``--stubs``: and the untouched stubs) are tested exactly as
``benchwarden suites check polyglot`` does: one :class:`Workspace` per run, the
toolchain's test command under bubblewrap, ``--workers`` runs at a time.

For Python, the host baseline: the same exercises written to a temp dir (reference in
place, the same prepared tests) and the *same* command (``python3 -S -B -m unittest
discover``, Debian's python3, as in the sandbox) run directly with ``sh -c``, same
worker count. What separates the two sides is the sandbox alone, so sandbox/host is
its cost. ``--rounds`` alternates the sides, since another job may load the machine.

Each side of each language runs in a fresh child process, so that its figures are its
own: wall time of the work, CPU of the children (``getrusage(RUSAGE_CHILDREN)`` after
minus before: bwrap and all it starts, or sh and python3), the largest child's peak
RSS (``ru_maxrss`` of the children is the maximum over every reaped descendant, i.e.
the biggest single process, not a sum), the child's own CPU and peak RSS (workspace
files, supervising threads), and exercises per second. A forked process keeps in its
peak the RSS it had before exec, which is the forking child's (about 30 MiB of
Python): a children's peak not above the child's own is shown as ``<=N``, a bound on
the sandboxed processes (python3 running unittest stays under it), not a measure.
The sandbox side also sums each run's CPU as ``wait4`` reports it, a cross-check of
the ``getrusage`` figure.

Bounded: no new run starts after ``--max-seconds`` (default 1200) from the start;
runs already going finish within the toolchain's wall limit (180 s), and the output
says what was cut. Exit status 0 when the figures were measured, 1 when a run went
wrong (a reference failed, a stub passed, a child failed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST_BASELINE = ("python",)  # other toolchains build with sandbox-only binds and caches
GRACE = 240.0  # past the budget, for a child's runs in flight (the 180 s wall limit)

Job = tuple[Any, bool]  # (Exercise, reference?)
RunFigures = tuple[str, float, float]  # outcome, wall s, cpu s (nan when unknown)


def _data_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("BENCHWARDEN_DATA_MIRROR", str(ROOT.parent / "shared" / "data"))
    return env


# -- the child: one side of one language -----------------------------------------------


def _sandbox_run(exercise: Any, reference: bool) -> RunFigures:
    from benchwarden.bench.agentic.toolchains import TOOLCHAINS
    from benchwarden.bench.agentic.workspace import Workspace

    start = exercise.reference_files() if reference else exercise.stub_files()
    with Workspace(exercise, TOOLCHAINS[exercise.language], start) as workspace:
        run = workspace.run_tests()
    return run.outcome, run.wall_seconds, run.cpu_seconds


def _host_run(exercise: Any, reference: bool) -> RunFigures:
    """The same files and command as the sandbox's, straight on the host."""
    from benchwarden.bench.agentic.toolchains import TOOLCHAINS
    from benchwarden.bench.sandbox.command import SANDBOX_ENV
    from benchwarden.bench.sandbox.types import ExecResult

    toolchain = TOOLCHAINS[exercise.language]
    files = exercise.reference_files() if reference else exercise.stub_files()
    files.update({p: toolchain.prepare_tests(p, t) for p, t in exercise.tests.items()})
    files.update(toolchain.setup_files)
    path = ":".join((*toolchain.environment.path_prefix, SANDBOX_ENV["PATH"]))
    env = {**SANDBOX_ENV, "PATH": path, **toolchain.environment.env}
    limit = toolchain.limits.wall_limit
    with tempfile.TemporaryDirectory(prefix="bw-polyglot-host-") as tmp:
        env.update(HOME=tmp, TMPDIR=tmp)
        for relative, text in files.items():
            target = Path(tmp) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        start = time.perf_counter()
        proc = subprocess.Popen(
            ["/bin/sh", "-c", toolchain.test_script],
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=limit)
            verdict = "ok" if proc.returncode == 0 else "error"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            verdict = "timeout"
        wall = time.perf_counter() - start
    result = ExecResult(
        verdict=verdict,
        exit_code=proc.returncode,
        signal=None,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        cpu_seconds=0.0,
        wall_seconds=wall,
        isolation="host",
    )
    return toolchain.outcome(result), wall, float("nan")


def _drive(
    jobs: list[Job], run: Callable[[Any, bool], RunFigures], workers: int, deadline: float
) -> tuple[list[tuple[Job, RunFigures]], bool]:
    """Run ``jobs``, ``workers`` at a time; none starts after ``deadline``."""
    lock = threading.Lock()
    done: list[tuple[Job, RunFigures]] = []
    state = {"next": 0, "stopped": False}

    def worker() -> None:
        while True:
            with lock:
                if state["next"] >= len(jobs):
                    return
                if time.monotonic() >= deadline:
                    state["stopped"] = True
                    return
                job = jobs[state["next"]]
                state["next"] += 1
            try:
                figures = run(*job)
            except Exception as exc:  # counted, and the benchmark goes on
                figures = (f"exception: {type(exc).__name__}: {exc}", float("nan"), float("nan"))
            with lock:
                done.append((job, figures))

    threads = [threading.Thread(target=worker) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done, bool(state["stopped"])


def _usage() -> tuple[resource.struct_rusage, resource.struct_rusage]:
    return resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def child(side: str, language: str, workers: int, budget: float, stubs: bool, limit: int) -> None:
    """Measure one side of one language; print one JSON line of figures."""
    from benchwarden.bench.agentic.check import is_refactoring, known_issue
    from benchwarden.bench.agentic.exercises import load_exercises
    from benchwarden.bench.sandbox.shell import require_isolation

    deadline = time.monotonic() + budget
    exercises = load_exercises((language,))[: limit if limit > 0 else None]
    kinds = (True, False) if stubs else (True,)
    jobs: list[Job] = [(e, kind) for e in exercises for kind in kinds]
    if side == "sandbox":
        require_isolation()  # its probe is a bwrap child too: before the "before" figures
    run = _sandbox_run if side == "sandbox" else _host_run
    kids0, self0 = _usage()
    start = time.perf_counter()
    done, stopped = _drive(jobs, run, workers, deadline)
    wall = time.perf_counter() - start
    kids1, self1 = _usage()
    runs_of: Counter[str] = Counter(job[0].id for job, _ in done)
    # What the toolchain lists as unverifiable here is counted apart, as the check does.
    wrong = [
        (job, figures)
        for job, figures in done
        if (figures[0] == "passed") != job[1]
        and not figures[0].startswith("exception")
        and not (not job[1] and is_refactoring(job[0]))  # a refactoring stub passes
    ]
    unverifiable = [j[0].id for j, _ in wrong if known_issue(*j) is not None]
    unexpected = [
        f"{job[0].id} {'reference' if job[1] else 'stub'}: {figures[0]}"
        for job, figures in wrong
        if known_issue(*job) is None
    ]
    cpu_sum = sum(f[2] for _, f in done)
    figures: dict[str, Any] = {
        "side": side,
        "language": language,
        "workers": workers,
        "exercises": sum(1 for n in runs_of.values() if n == len(kinds)),
        "exercises_total": len(exercises),
        "runs": len(done),
        "runs_total": len(jobs),
        "reference_passed": sum(1 for j, f in done if j[1] and f[0] == "passed"),
        "stub_passed": sum(1 for j, f in done if not j[1] and f[0] == "passed"),
        "outcomes": dict(Counter(f[0].split(":")[0] for _, f in done)),
        "unexpected": unexpected,
        "unverifiable": unverifiable,
        "stopped": stopped,
        "wall_s": wall,
        "children_cpu_s": _cpu(kids1) - _cpu(kids0),
        "self_cpu_s": _cpu(self1) - _cpu(self0),
        "children_peak_rss_mib": kids1.ru_maxrss / 1024,
        "children_peak_rss_before_mib": kids0.ru_maxrss / 1024,
        # A forked child keeps the RSS it had before exec in its peak, i.e. ours at the
        # fork: when the figure is not above our own peak it only bounds the sandboxed
        # processes' peak from above.
        "children_peak_rss_is_bound": kids1.ru_maxrss <= self1.ru_maxrss,
        "self_peak_rss_mib": self1.ru_maxrss / 1024,
        "runs_cpu_sum_s": cpu_sum if cpu_sum == cpu_sum else None,  # NaN on the host side
        "runs_wall_mean_s": statistics.fmean(f[1] for _, f in done) if done else None,
    }
    raised = [f[0] for _, f in done if f[0].startswith("exception")]
    if raised:  # not a test outcome: the harness broke, so these figures mean nothing
        figures["error"] = f"{len(raised)} of {len(done)} runs raised; first: {raised[0]}"
    print(json.dumps(figures))


# -- the parent: languages, sides, rounds, the table -----------------------------------


def _measure(side: str, language: str, args: argparse.Namespace, left: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", side, "--language", language]
    cmd += ["--workers", str(args.workers), "--budget", f"{left:.1f}", "--limit", str(args.limit)]
    cmd += ["--stubs"] if args.stubs else []
    try:
        done = subprocess.run(
            cmd,
            env=_data_env(),
            capture_output=True,
            text=True,
            timeout=left + GRACE,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        killed = f"child killed after {left + GRACE:.0f} s"
        return {"side": side, "language": language, "error": killed}
    if done.returncode != 0 or not done.stdout.strip():
        tail = done.stderr.strip().splitlines()[-3:]
        return {"side": side, "language": language, "error": " | ".join(tail) or "no output"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _not_runnable(language: str) -> str | None:
    try:
        from benchwarden.bench.agentic.check import language_reason
    except Exception as exc:  # a toolchain module that does not import: say so, go on
        return f"the toolchains do not import ({type(exc).__name__}: {exc})"
    return language_reason(language)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def _ratios(sandbox: dict[str, Any], host: dict[str, Any]) -> dict[str, float | None]:
    """sandbox/host per run (the two sides may have been cut at different points)."""
    if "error" in sandbox or "error" in host or not sandbox["runs"] or not host["runs"]:
        return {}
    per: dict[str, int] = {side["side"]: int(side["runs"]) for side in (sandbox, host)}

    def each(key: str, figures: dict[str, Any]) -> float:
        return float(figures[key]) / per[figures["side"]]

    total = {
        s["side"]: float(s["children_cpu_s"] + s["self_cpu_s"]) / per[s["side"]]
        for s in (sandbox, host)
    }
    bound = sandbox["children_peak_rss_is_bound"] or host["children_peak_rss_is_bound"]
    rss = (float(sandbox["children_peak_rss_mib"]), float(host["children_peak_rss_mib"]))
    return {
        "wall": _ratio(each("wall_s", sandbox), each("wall_s", host)),
        "children_cpu": _ratio(each("children_cpu_s", sandbox), each("children_cpu_s", host)),
        "total_cpu": _ratio(total["sandbox"], total["host"]),
        "children_peak_rss": None if bound else _ratio(*rss),
    }


def _row(f: dict[str, Any], round_no: int, stubs: bool) -> str:
    head = f"{f['language']:<11}{f['side']:<8}{round_no:>2} "
    if "error" in f:
        return head + f"failed: {f['error']}"
    rate = f["exercises"] / f["wall_s"] if f["wall_s"] > 0 else 0.0
    stub = f"{f['stub_passed']:>4}" if stubs else "   -"
    kids = ("<=" if f["children_peak_rss_is_bound"] else "") + f"{f['children_peak_rss_mib']:.0f}"
    line = (
        f"{head}{f['exercises']:>4}/{f['exercises_total']:<4}{f['reference_passed']:>5} {stub}"
        f"{f['wall_s']:>8.1f}{rate:>7.2f}{f['children_cpu_s']:>8.1f}{f['self_cpu_s']:>7.1f}"
        f"{kids:>8}{f['self_peak_rss_mib']:>7.0f}"
    )
    if f["stopped"]:
        line += "  cut: --max-seconds"
    return line


HEADER = "language   side     r   done     ref stub  wall s   ex/s  kids s  own s kidsMiB ownMiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--language", action="append", help="repeatable (default: all six)")
    parser.add_argument("--stubs", action="store_true", help="also test the untouched stubs")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time (2)")
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="no new run after")
    parser.add_argument("--rounds", type=int, default=1, help="repeat, alternating the sides")
    parser.add_argument("--limit", type=int, default=0, help="first N exercises per language")
    parser.add_argument("--no-host", action="store_true", help="skip the Python host baseline")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    parser.add_argument("--child", choices=("sandbox", "host"), help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.language[0], args.workers, args.budget, args.stubs, args.limit)
        return 0

    os.environ.update(_data_env())
    from benchwarden.bench.agentic.exercises import LANGUAGES

    deadline = time.monotonic() + args.max_seconds
    languages: list[str] = args.language or list(LANGUAGES)
    reasons = {lang: _not_runnable(lang) for lang in languages}
    what = "references and stubs" if args.stubs else "references"
    print(
        f"polyglot: {what}, {args.workers} workers, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}, budget {args.max_seconds:g} s",
        flush=True,
    )
    print(HEADER, flush=True)
    results: list[dict[str, Any]] = []
    ratios: list[dict[str, float | None]] = []
    skipped: list[str] = []
    failed = False
    for round_no in range(1, args.rounds + 1):
        for language in languages:
            if reasons[language] is not None:
                continue
            sides = ["sandbox"]
            if language in HOST_BASELINE and not args.no_host:
                sides = ["sandbox", "host"] if round_no % 2 else ["host", "sandbox"]
            pair: dict[str, dict[str, Any]] = {}
            for side in sides:
                left = deadline - time.monotonic()
                if left <= 0:
                    skipped.append(f"{language} {side} round {round_no}")
                    continue
                figures = _measure(side, language, args, left)
                figures["round"] = round_no
                print(_row(figures, round_no, args.stubs), flush=True)
                results.append(figures)
                pair[side] = figures
                failed = failed or "error" in figures or bool(figures.get("unexpected"))
            if len(pair) == 2:
                ratio = {"round": round_no, **_ratios(pair["sandbox"], pair["host"])}
                ratios.append(ratio)
    for language, reason in reasons.items():
        if reason is not None:
            print(f"{language:<11}not runnable: {reason}")
    for figures in results:
        for exercise in figures.get("unverifiable", []):
            print(f"  unverifiable here (the toolchain lists why): {exercise}")
        problems = figures.get("unexpected", [])
        for problem in problems[:10]:
            print(f"  unexpected: {problem}")
        if len(problems) > 10:
            print(f"  unexpected: ... and {len(problems) - 10} more (--json has them all)")
    if skipped:
        print(f"not started (--max-seconds {args.max_seconds:g} reached): {', '.join(skipped)}")
    for f in results:
        if "error" in f or f.get("runs_wall_mean_s") is None:
            continue
        line = f"  {f['language']} {f['side']} round {f['round']}: mean run wall "
        line += f"{f['runs_wall_mean_s']:.3f} s"
        if f.get("runs_cpu_sum_s") is not None:
            line += f", runs' CPU by wait4 {f['runs_cpu_sum_s']:.1f} s"
        print(line)
    if ratios:
        print("python sandbox/host, per run:")
        for r in ratios:
            shown = ", ".join(
                f"{k} {v:.2f}" for k, v in r.items() if k != "round" and v is not None
            )
            print(f"  round {r['round']}: {shown}")
        if len(ratios) > 1:
            medians = {
                k: statistics.median(v for r in ratios if (v := r.get(k)) is not None)
                for k in ("wall", "children_cpu", "total_cpu")
                if any(r.get(k) is not None for r in ratios)
            }
            print("  median: " + ", ".join(f"{k} {v:.2f}" for k, v in medians.items()))
    if args.json is not None:
        document = {
            "workers": args.workers,
            "stubs": args.stubs,
            "max_seconds": args.max_seconds,
            "cores": os.cpu_count(),
            "not_runnable": {k: v for k, v in reasons.items() if v is not None},
            "results": results,
            "ratios_sandbox_over_host": ratios,
            "not_started": skipped,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
