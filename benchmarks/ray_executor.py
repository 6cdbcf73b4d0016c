"""``benchwarden run`` with the local executor against Ray (one node process, then two)
on this machine: throughput, and the overhead per unit of going through Ray.

Run from the repository root (installs nothing; needs the ray extra, ``make install``)::

    .venv/bin/python benchmarks/ray_executor.py            # about 4 min, at most 8
    .venv/bin/python benchmarks/ray_executor.py --quick    # about 2 min

Each configuration runs the real CLI (``python -m benchwarden.cli run ...``) against a
mock upstream on loopback, on a Ray cluster started here on 127.0.0.x and torn down
after (``benchwarden.testing.ray_cluster``):

- ``local``: the default executor, no cluster.
- ``ray-1``: one node process (the head) with 2 CPUs.
- ``ray-2``: two node processes (head and one more) with 1 CPU each.

Workloads (each measured after a warm-up run of the same shape, so Ray's worker
processes exist and have imported benchwarden):

1. ``overhead``: zero-latency echo samples one at a time (``--max-concurrency 1``): the
   time per unit; Ray minus local is the per-unit cost of going through Ray (submit,
   schedule, ship the unit, run, ship the result back), the figure that carries over.
2. ``calls``: the same samples with 8 in flight: throughput of API-bound units.
3. ``sandbox``: HumanEval checks in the bubblewrap sandbox (the mock's answers are not
   solutions, so each check runs the program and its tests and fails): 4 in flight.
4. ``embedded``: SmolLM2-135M samples of the smoke suite (16 answer tokens), 2 in
   flight; each Ray worker loads its own engine.

And ``budget``: what a model call's admission costs through the cluster's pacing budget
(one named actor per run holding every model's pacer; ``bench/cluster/pacing.py``),
from a Ray worker, against the same pacer in the worker's own process: the mean of
admit-then-succeed over 300 calls, one at a time.

Figures are the run proper (first sample started to last finished, from the stored
samples) and the wall time of the command. 2 cores bound what scaling can show.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchwarden.testing.mock_upstream import ThreadedMockUpstream
from benchwarden.testing.ray_cluster import LocalRayCluster

ROOT = Path(__file__).resolve().parents[1]


def write_fixture(tmp: Path, base_url: str, n_items: int) -> tuple[Path, Path]:
    config = tmp / "models.toml"
    config.write_text(
        "\n".join(
            [
                '[models."mock"]',
                'provider = "openai"',
                f'base_url = "{base_url}/v1"',
                'model = "mock"',
                'purposes = ["benchmarking"]',
                "max_concurrency = 8",
                "",
            ]
        )
    )
    items = tmp / "items.jsonl"
    with items.open("w") as handle:
        for i in range(n_items):
            handle.write(json.dumps({"id": f"i{i:05d}", "input": f"q{i}", "target": f"q{i}"}))
            handle.write("\n")
    suite = tmp / "suite.yaml"
    suite.write_text(
        "name: echo\ndescription: echo items\nitems: items.jsonl\nscorer: includes\nmax_tokens: 8\n"
    )
    return config, suite


def run_proper(db: Path, run_id: str) -> tuple[int, float]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT status, started_at, finished_at FROM samples WHERE run_id = ?", (run_id,)
        ).fetchall()
    bad = [r for r in rows if r[0] != "ok"]
    if bad:
        with sqlite3.connect(db) as conn:
            why = conn.execute(
                "SELECT error_kind, error_message, count(*) FROM samples WHERE run_id = ? "
                "AND status != 'ok' GROUP BY error_kind, error_message LIMIT 5",
                (run_id,),
            ).fetchall()
        raise SystemExit(f"{run_id}: {len(bad)} samples not ok: {why}")
    start = min(datetime.fromisoformat(r[1]) for r in rows)
    end = max(datetime.fromisoformat(r[2]) for r in rows)
    return len(rows), (end - start).total_seconds()


def bench(
    args: list[str], db: Path, run_id: str, executor: list[str], timeout: float
) -> tuple[int, float, float]:
    command = [sys.executable, "-m", "benchwarden.cli", "run", *args]
    command += ["--db", str(db), "--run-id", run_id, "--no-cache", *executor]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{run_id} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    n, proper = run_proper(db, run_id)
    return n, proper, wall


def workloads(quick: bool, suite: Path, config: Path) -> dict[str, list[str]]:
    n = 40 if quick else 100
    echo = ["-s", str(suite), "-m", "mock", "--config", str(config)]
    coding = ["-s", "humaneval", "-m", "mock", "--config", str(config)]
    return {
        "overhead": [*echo, "--limit", str(n), "--max-concurrency", "1"],
        "calls": [*echo, "--limit", str(2 * n), "--max-concurrency", "8"],
        "sandbox": [*coding, "--limit", "16" if quick else "40", "--max-concurrency", "4"],
        "embedded": [
            *("-s", "smoke", "-m", "local/smollm2-135m", "--max-concurrency", "2"),
            *("--max-answer-tokens", "16", "--temperature", "0"),
        ],
    }


def measure(
    name: str, executor: list[str], shapes: dict[str, list[str]], tmp: Path, timeout: float
) -> dict[str, tuple[int, float, float]]:
    figures = {}
    for work, args in shapes.items():
        db = tmp / f"{name}-{work}.db"
        bench(args, db, "warm", executor, timeout)  # worker processes up, imports done
        figures[work] = bench(args, db, "measured", executor, timeout)
        n, proper, wall = figures[work]
        print(f"  {name:<6} {work:<9} {n:>4} units  run {proper:6.2f}s  wall {wall:6.2f}s")
    return figures


def _admissions(n: int, shared: bool) -> float:
    """On a Ray worker: mean seconds per admit-then-succeed of one call at a time."""
    import asyncio

    import ray

    from benchwarden.bench.cluster.pacing import ACTOR_NAME, ClusterPacer
    from benchwarden.models.pacing.pacer import RatePacer

    key, label = ("http://bench/v1", "", "m"), "http://bench/v1 m"
    pacer = ClusterPacer(key, label, ray.get_actor(ACTOR_NAME), ray) if shared else RatePacer(label)

    async def calls() -> float:
        started = time.perf_counter()
        for _ in range(n):
            ticket = await pacer.admit({"requests": 1.0}, time.monotonic() + 60)
            pacer.succeeded(ticket, None)
        return (time.perf_counter() - started) / n

    return asyncio.run(calls())


def admission_cost(address: str, n: int = 300) -> tuple[float, float]:
    """Seconds per call's admission: through the cluster's budget, and in process."""
    import ray

    from benchwarden.bench.cluster.pacing import start_budget

    ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        budget = start_budget(ray)
        task = ray.remote(num_cpus=0.25)(_admissions)
        ray.get(task.remote(20, True), timeout=120)  # a worker up, imports done
        shared = ray.get(task.remote(n, True), timeout=120)
        here = ray.get(task.remote(n, False), timeout=120)
        ray.kill(budget)
    finally:
        ray.shutdown()
    return shared, here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    os.environ.setdefault("BENCHWARDEN_DATA_MIRROR", str(ROOT.parent / "shared" / "data"))
    deadline = time.monotonic() + 480
    tmp = Path(tempfile.mkdtemp(prefix="bw-ray-bench-"))
    os.environ["BENCHWARDEN_HOME"] = str(tmp / "home")
    results: dict[str, dict[str, tuple[int, float, float]]] = {}
    budget: tuple[float, float] | None = None
    with ThreadedMockUpstream(echo=True, latency_s=0.0) as mock:
        config, suite = write_fixture(tmp, mock.base_url, 400)
        shapes = workloads(options.quick, suite, config)
        print("local executor")
        results["local"] = measure("local", [], shapes, tmp, 300)
        for name, layout in (("ray-1", [2]), ("ray-2", [1, 1])):
            left = deadline - time.monotonic()
            if left < 60:
                print(f"skipping {name}: time budget spent")
                continue
            print(f"{name}: {len(layout)} node process(es), CPUs {layout}")
            with LocalRayCluster(head_cpus=layout[0]) as cluster:
                for cpus in layout[1:]:
                    cluster.add_node(cpus=cpus)
                executor = ["--executor", "ray", "--ray-address", cluster.address]
                results[name] = measure(name, executor, shapes, tmp, min(300, left))
                if name == "ray-2":
                    budget = admission_cost(cluster.address)
    shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{'work':<9} {'executor':<7} {'units':>5} {'units/s':>8} {'vs local':>8}")
    for work in shapes:
        base_n, base_t, _ = results["local"][work]
        for name, figures in results.items():
            n, proper, _ = figures[work]
            rate = n / proper if proper else float("inf")
            ratio = (base_t / base_n) / (proper / n) if proper else float("inf")
            print(f"{work:<9} {name:<7} {n:>5} {rate:>8.1f} {ratio:>7.2f}x")
    base_n, base_t, _ = results["local"]["overhead"]
    for name, figures in results.items():
        if name == "local":
            continue
        n, proper, _ = figures["overhead"]
        extra_ms = (proper / n - base_t / base_n) * 1000
        print(f"per-unit overhead of {name} (one at a time): {extra_ms:.1f} ms")
    if budget is not None:
        shared, here = budget
        print(
            f"a call's admission through the cluster's pacing budget: {shared * 1000:.2f} ms "
            f"(the pacer in the worker's process: {here * 1e6:.0f} us)"
        )


if __name__ == "__main__":
    main()
