"""``run --executor ray`` on a real Ray cluster on loopback (one per module: start-up is
slow): a head with no CPUs (it only schedules, as on real clusters), a node process
whose sandbox is turned off, and one that has it.

The same runs with the local executor and with Ray store the same results; sandboxed
units go only where the sandbox runs (the head refuses them with its reason); a node
killed mid-run loses nothing and duplicates nothing.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchwarden.bench.cluster.needs import NodeRefused
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from benchwarden.testing.ray_cluster import LocalRayCluster
from tests.bench.test_runner import cli, write_config, write_suite
from tests.cli_process import run_cli

NO_SANDBOX = {"BENCHWARDEN_SANDBOX_FALLBACK": "1"}
# Everything a stored sample says, less when it was made and how long it took.
COLUMNS = (
    "model, suite, item_id, epoch, status, answer, answer_sha256, score, passed, "
    "score_detail, error_kind, input_tokens, output_tokens, cost, endpoint, purpose, mode, "
    "params, finish_reason"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRayCluster]:
    with LocalRayCluster(head_cpus=0) as ray_cluster:
        ray_cluster.add_node(cpus=1, env=NO_SANDBOX)  # 127.0.0.3
        ray_cluster.add_node(cpus=1)  # 127.0.0.4
        yield ray_cluster


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockUpstream]:
    with ThreadedMockUpstream(echo=True, latency_s=0.005) as mock:
        yield mock


def stored(db: Path, run_id: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            f"SELECT {COLUMNS} FROM samples WHERE run_id = ? ORDER BY model, suite, item_id, epoch",
            (run_id,),
        ).fetchall()


def placement(stdout: str) -> dict[str, int]:
    """The run's "work ran on" lines: node label -> units."""
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^\s+(127\.0\.0\.\d+ \(\w+\)): (\d+) units$", stdout, re.M)
    }


def run_both(args: list[str], db: Path, address: str) -> tuple[str, str]:
    local = cli(*args, "--db", str(db), "--run-id", "local")
    assert local.returncode == 0, local.stderr + local.stdout
    assert "work ran on" not in local.stdout
    remote = cli(
        *args, "--db", str(db), "--run-id", "ray", "--executor", "ray", "--ray-address", address
    )
    assert remote.returncode == 0, remote.stderr + remote.stdout
    return local.stdout, remote.stdout


def test_same_results_as_local(
    tmp_path: Path, cluster: LocalRayCluster, upstream: MockUpstream
) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    suite = write_suite(tmp_path, 25)
    db = tmp_path / "r.db"
    args = ["run", "-s", str(suite), "-m", "mock-a", "-m", "mock-b", "--epochs", "2"]
    _, out = run_both([*args, "--config", str(config), "--no-cache"], db, cluster.address)
    local, remote = stored(db, "local"), stored(db, "ray")
    assert len(local) == 100 and all(row[4] == "ok" for row in local)
    assert remote == local  # same seeds, same answers, scores, tokens, costs, provenance
    where = placement(out)
    assert sum(where.values()) == 100, out
    assert "100 samples recorded, 0 errors" in out


def test_sandboxed_units_go_where_the_sandbox_runs(
    tmp_path: Path, cluster: LocalRayCluster, upstream: MockUpstream
) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    db = tmp_path / "h.db"
    args = ["run", "-s", "humaneval", "--limit", "4", "-m", "mock-a", "--config", str(config)]
    _, out = run_both([*args, "--no-cache"], db, cluster.address)
    local, remote = stored(db, "local"), stored(db, "ray")
    assert len(remote) == 4 and remote == local
    assert all(json.loads(row[9])["isolation"] == "bwrap" for row in remote)
    where = placement(out)
    blind = cluster.nodes[1].ip
    assert sum(where.values()) == 4 and not any(n.startswith(f"{blind} ") for n in where), out
    for note in re.findall(r"note: (.*)", out):  # that node turned some away, saying why
        assert note.startswith(f"{blind} (") and "BENCHWARDEN_SANDBOX_FALLBACK=1" in note


def test_polyglot_attempts_same_as_local(tmp_path: Path, cluster: LocalRayCluster) -> None:
    """Agentic attempts (edit protocol, scripted models, the real workspace sandbox)
    shipped whole to the node that has the sandbox and the Python toolchain."""
    from benchwarden.bench.agentic.exercises import load_exercises
    from tests.bench.agentic.solver import Solver, edit_fails_then_fixes, edit_solves

    exercises = load_exercises(("python",))
    policies = {"solves": edit_solves, "fixes": edit_fails_then_fixes}
    with Solver(exercises, policies) as solver:
        config = write_poly_config(tmp_path / "m.toml", solver.base_url)
        args = ["run", "-s", "polyglot", "--agent", "edit", "--language", "python"]
        args += ["--limit", "2", "-m", "a", "-m", "b", "--config", str(config), "--no-cache"]
        _, out = run_both(args, tmp_path / "p.db", cluster.address)
    local, remote = stored(tmp_path / "p.db", "local"), stored(tmp_path / "p.db", "ray")
    assert len(remote) == 4 and remote == local
    assert all(row[8] == 1 for row in remote)  # passed: a at try 1, b at try 2
    where = placement(out)
    assert list(where) and all(n.startswith(f"{cluster.nodes[2].ip} ") for n in where), out


def test_embedded_model_on_safety_and_smoke_same_as_local(
    tmp_path: Path, cluster: LocalRayCluster
) -> None:
    """Embedded inference (SmolLM2, one engine per Ray worker) and the safety suite's
    refusal classifier: the same draws, answers and scores as in this process."""
    db = tmp_path / "e.db"
    args = ["run", "-s", "safety", "-s", "smoke", "--limit", "2", "-m", "local/smollm2-135m"]
    args += ["--max-answer-tokens", "4", "--purpose", "safety-evaluation", "--no-cache"]
    _, out = run_both(args, db, cluster.address)
    local, remote = stored(db, "local"), stored(db, "ray")
    assert len(remote) == 4 and remote == local
    assert {row[1] for row in remote} == {"safety", "smoke"} and {row[4] for row in remote} == {
        "ok"
    }
    assert sum(placement(out).values()) == 4
    # One engine actor per CPU of the worker nodes (the head has none), each loaded once.
    assert "4 embedded-model units ran on 2 engine actor(s)" in out, out


def test_engine_actors_run_the_threads_of_their_cpu_share(cluster: LocalRayCluster) -> None:
    """Each engine actor's llama.cpp engine runs as many threads as the CPUs it stands
    for (one here), not the machine's count (two on this machine: the old figure), so a
    node's actors together never oversubscribe it."""
    import asyncio

    import ray

    from benchwarden.bench.cluster.engines import ENGINE_CPUS, EnginePool
    from benchwarden.bench.plan import Task
    from benchwarden.bench.prompting import SamplingOptions
    from benchwarden.bench.suite import Item
    from benchwarden.bench.work import SuiteRef, Unit
    from benchwarden.models.registry import resolve

    spec = resolve("local/smollm2-135m", {})
    unit = Unit(
        run_id="t",
        task=Task(spec.name, "smoke", "hi", 0, 1),
        item=Item(id="hi", prompt="Say hi."),
        suite=SuiteRef("smoke"),
        spec=spec,
        sampling=SamplingOptions(max_tokens=2),
        use_cache=False,
    )
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    pool = EnginePool(ray)
    try:
        result = asyncio.run(pool.submit(unit))
        members = pool.pools[spec.name]
        threads = ray.get([m.actor.threads.remote(spec) for m in members], timeout=60)
    finally:
        pool.close()
        ray.shutdown()
    assert result is not None and result.record.status == "ok", result
    assert len(members) == 2  # one per CPU of the two worker nodes (the head has none)
    assert threads == [ENGINE_CPUS, ENGINE_CPUS] == [1, 1]


def test_driver_killed_then_resumed_with_ray(tmp_path: Path, cluster: LocalRayCluster) -> None:
    """kill -9 of the driver mid-run, then the same command: every unit once."""
    with ThreadedMockUpstream(echo=True, latency_s=0.1) as slow:
        config = write_config(tmp_path / "models.toml", slow.base_url)
        suite = write_suite(tmp_path, 40)
        db = tmp_path / "d.db"
        args = [
            "run", "-s", str(suite), "-m", "mock-a", "-m", "mock-b", "--config", str(config),
            "--db", str(db), "--run-id", "d", "--no-cache", "--executor", "ray",
            "--ray-address", cluster.address,
        ]  # fmt: skip
        driver = subprocess.Popen(
            [sys.executable, "-m", "benchwarden.cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while count_rows(db, "d") < 20 and time.monotonic() < deadline:
            assert driver.poll() is None
            time.sleep(0.05)
        driver.kill()
        driver.wait(10)
        cut = count_rows(db, "d")
        assert 20 <= cut < 80
        resumed = cli(*args)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert f"{80 - cut} samples to do" in resumed.stdout
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT model, item_id, epoch, status FROM samples").fetchall()
    assert len(keys) == 80 and len(set(keys)) == 80 and {k[3] for k in keys} == {"ok"}


def write_poly_config(path: Path, base_url: str) -> Path:
    lines: list[str] = []
    for name, policy in (("a", "solves"), ("b", "fixes")):
        lines += [f'[models."{name}"]', 'provider = "openai"', f'base_url = "{base_url}/v1"']
        lines += [f'model = "{policy}"', 'purposes = ["benchmarking"]', "max_concurrency = 2"]
        lines += ["max_attempts = 1", ""]
    path.write_text("\n".join(lines))
    return path


def test_a_node_without_the_sandbox_refuses_cleanly(cluster: LocalRayCluster) -> None:
    """A unit pinned to the node without the sandbox comes back as NodeRefused, naming
    the node and the reason, before anything of it ran."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from benchwarden.bench.cluster.ray_executor import _run_unit
    from benchwarden.bench.plan import Task
    from benchwarden.bench.suite import Item
    from benchwarden.bench.work import SuiteRef, Unit
    from benchwarden.models.registry import resolve

    unit = Unit(
        run_id="r",
        task=Task("openai/x", "humaneval", "HumanEval/0", 0, 1),
        item=Item(id="HumanEval/0", prompt="def f():\n"),
        suite=SuiteRef("humaneval"),
        spec=resolve("openai/x", {}),
        requirements=("sandbox",),
    )
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    try:
        blind = next(n["NodeID"] for n in ray.nodes() if n["NodeManagerAddress"] == "127.0.0.3")
        task = ray.remote(max_retries=0)(_run_unit).options(
            num_cpus=1, scheduling_strategy=NodeAffinitySchedulingStrategy(blind, soft=False)
        )
        with pytest.raises(NodeRefused) as info:
            ray.get(task.remote(unit), timeout=120)
    finally:
        ray.shutdown()
    assert info.value.node.startswith(f"127.0.0.3 ({blind[:8]}")
    assert info.value.requirement == "sandbox"
    assert "BENCHWARDEN_SANDBOX_FALLBACK=1" in info.value.reason


def count_rows(db: Path, run_id: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            (n,) = conn.execute(
                "SELECT count(*) FROM samples WHERE run_id = ?", (run_id,)
            ).fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0
    return int(n)


def test_node_killed_mid_run_loses_and_duplicates_nothing(
    tmp_path: Path, cluster: LocalRayCluster
) -> None:
    """Kills a node of the module's cluster, so it comes after the tests that need it.
    16 units in flight want 4 CPUs, the two worker nodes have 2: both are full."""
    doomed = cluster.nodes[1]
    with ThreadedMockUpstream(echo=True, latency_s=0.25) as slow:
        config = write_config(tmp_path / "models.toml", slow.base_url)
        suite = write_suite(tmp_path, 60)
        db = tmp_path / "k.db"
        args = [
            "run", "-s", str(suite), "-m", "mock-a", "-m", "mock-b", "--config", str(config),
            "--db", str(db), "--run-id", "k", "--no-cache", "--executor", "ray",
            "--ray-address", cluster.address, "--max-concurrency", "8",
        ]  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "benchwarden.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**__import__("os").environ, "COLUMNS": "200"},
        )
        deadline = time.monotonic() + 120
        while count_rows(db, "k") < 30 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        doomed.kill()  # SIGKILL to the node's raylet, workers and agents
        out, err = process.communicate(timeout=240)
        requests = slow.stats.requests
    assert process.returncode == 0, err + out
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT model, item_id, epoch, status FROM samples").fetchall()
    assert len(keys) == 120 and len(set(keys)) == 120
    assert {k[3] for k in keys} == {"ok"}
    assert "120 samples recorded, 0 errors" in out
    # Units in flight on the killed node were sent upstream, lost, and re-run elsewhere.
    assert requests > 120, (requests, out)


def test_unreachable_cluster_refuses_before_anything(tmp_path: Path) -> None:
    result = run_cli(
        "run", "-s", "smoke", "-m", "local/smollm2-135m", "--db", str(tmp_path / "x.db"),
        "--executor", "ray", env={"RAY_ADDRESS": ""},
    )  # fmt: skip
    assert result.returncode != 0
    assert "needs a running cluster" in result.stdout + result.stderr
