"""Sandbox throughput: every HumanEval+ canonical solution, base + plus tests, ours vs evalplus.

Setup, once, outside this script (it installs nothing)::

    python3.11 -m venv /tmp/evalplus-venv
    /tmp/evalplus-venv/bin/pip install evalplus

Run from the repository root::

    .venv/bin/python benchmarks/sandbox_throughput.py           # about 4 minutes on 2 cores
    .venv/bin/python benchmarks/sandbox_throughput.py --quick   # cold runs only, about 2 min

What is timed, each as a whole command in its own process, with as many workers as
cores on both sides:

- ours: ``check_solution`` for all 164 problems on a ``SandboxPool`` (bubblewrap, one
  sandboxed process per problem and run). *Cold*: a fresh ``BENCHWARDEN_HOME``, so the
  reference outputs and times are computed in the run (one more sandboxed run per
  problem). *Warm*: the same home again, references read from the disk cache.
- evalplus: ``evalplus.evaluate --dataset humaneval --parallel N`` on a samples file
  holding the same canonical solutions, ``HUMANEVAL_OVERRIDE_PATH`` at the same data
  file, ``XDG_CACHE_HOME`` in a fresh temp dir (cold: its ground truth is computed in
  the run) and then again with that cache (warm).

Runs alternate (ours cold, evalplus cold, ours warm, evalplus warm) so that a load
change on the machine hits both sides. The figure is ours/evalplus wall time (target
<= 1.0). Pass counts are printed too: evalplus fails HumanEval/32 from a checker bug.
The whole run is bounded (20 minutes); exit status is 0 when the figures were measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVALPLUS_VENV = Path("/tmp/evalplus-venv")
EVALPLUS = EVALPLUS_VENV / "bin" / "evalplus.evaluate"
TARGET = 1.0
BUDGET = 1200.0  # seconds for the whole run; each child gets what is left
_deadline = time.monotonic() + BUDGET


def _remaining() -> float:
    left = _deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"the benchmark's {BUDGET:.0f} s budget is spent")
    return left


def _data_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("BENCHWARDEN_DATA_MIRROR", str(ROOT.parent / "shared" / "data"))
    return env


# -- ours, in a child process -------------------------------------------------------


def run_ours(workers: int) -> None:
    """Child mode: check every canonical solution; print one JSON line of figures."""
    from benchwarden.bench.coding.harness import check_solution
    from benchwarden.bench.coding.problems import load_problems
    from benchwarden.bench.sandbox import SandboxPool

    problems = load_problems("humaneval-plus")

    async def main() -> list[bool]:
        async with SandboxPool(workers) as pool:
            outcomes = await asyncio.gather(
                *(check_solution(p, p.canonical_solution, pool) for p in problems)
            )
        return [o.passed for o in outcomes]

    start = time.perf_counter()
    passed = asyncio.run(main())
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "passed": sum(passed), "total": len(passed)}))


def ours(home: Path, workers: int) -> dict[str, float]:
    env = {**_data_env(), "BENCHWARDEN_HOME": str(home)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child-ours", "--workers", str(workers)],
        env=env,
        capture_output=True,
        text=True,
        timeout=_remaining(),
        check=False,
        stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"our run failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall": wall, "inner": figures["seconds"], "passed": figures["passed"]}


# -- evalplus, as its own command ---------------------------------------------------


def write_samples(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.update(_data_env())
    from benchwarden.bench.coding.problems import load_problems

    with path.open("w") as f:
        for problem in load_problems("humaneval-plus"):
            line = {"task_id": problem.task_id, "solution": problem.canonical_solution}
            f.write(json.dumps(line) + "\n")


def data_file() -> str:
    os.environ.update(_data_env())
    from benchwarden.bench.data import fetch

    return str(fetch("HumanEvalPlus.jsonl.gz"))


def evalplus(xdg: Path, workdir: Path, workers: int) -> dict[str, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    samples = workdir / "samples.jsonl"
    write_samples(samples)
    env = {
        **os.environ,
        "HUMANEVAL_OVERRIDE_PATH": data_file(),
        "XDG_CACHE_HOME": str(xdg),
        "TOKENIZERS_PARALLELISM": "false",
    }
    cmd = [str(EVALPLUS), "--dataset", "humaneval", "--samples", str(samples)]
    cmd += ["--parallel", str(workers)]
    start = time.perf_counter()
    with (workdir / "evalplus.log").open("w") as log:
        done = subprocess.run(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=_remaining(),
            check=False,
        )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"evalplus failed, see {workdir / 'evalplus.log'}")
    results = json.loads((workdir / "samples_eval_results.json").read_text())
    passed = sum(
        1
        for runs in results["eval"].values()
        for run in runs
        if run["base_status"] == "pass" and run["plus_status"] == "pass"
    )
    return {"wall": wall, "passed": passed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="cold runs only")
    parser.add_argument("--child-ours", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_ours:
        run_ours(args.workers)
        return 0
    if not EVALPLUS.exists():
        print(
            f"evalplus is not installed at {EVALPLUS_VENV}. Create it once with:\n"
            f"    python3.11 -m venv {EVALPLUS_VENV}\n"
            f"    {EVALPLUS_VENV}/bin/pip install evalplus",
            file=sys.stderr,
        )
        return 2
    workers = args.workers
    print(f"HumanEval+ canonical solutions, base + plus tests, {workers} workers each side")
    with tempfile.TemporaryDirectory(prefix="bw-sandbox-bench-") as tmp:
        base = Path(tmp)
        rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
        phases = ["cold"] if args.quick else ["cold", "warm"]
        for phase in phases:
            ours_figures = ours(base / "home", workers)
            print(
                f"  ours {phase}:     {ours_figures['wall']:6.1f} s "
                f"(in-process {ours_figures['inner']:.1f} s), "
                f"passed {ours_figures['passed']:.0f}/164",
                flush=True,
            )
            theirs = evalplus(base / "xdg", base / f"evalplus-{phase}", workers)
            print(
                f"  evalplus {phase}: {theirs['wall']:6.1f} s, passed {theirs['passed']:.0f}/164",
                flush=True,
            )
            rows.append((phase, ours_figures, theirs))
    print()
    for phase, ours_figures, theirs in rows:
        ratio = ours_figures["wall"] / theirs["wall"]
        verdict = "meets" if ratio <= TARGET else "misses"
        print(f"{phase}: ours/evalplus wall time = {ratio:.2f} ({verdict} the target <= {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
