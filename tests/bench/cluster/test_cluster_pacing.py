"""One pacing budget per model for the whole Ray cluster, measured on the provider's side.

A loopback provider enforces a token bucket (``BucketUpstream``: 600 requests/min, 10
at once) and logs every arrival; it sends OpenAI's rate-limit headers, or only
``Retry-After`` on a 429 (the budget then learns the rate). The same run (80 samples,
8 in flight) goes once through the local executor and once through Ray, with units on
two node processes, in as many worker processes as Ray starts. Through Ray the
provider never sees more than its limit in any window and refuses hardly more than
it refuses the local run (measured with headers: 0 and 0; with Retry-After only: 2
against the local run's 5).

Without the shared budget (each Ray worker process pacing on its own, as before this
budget existed) the same run with headers measured here: 158 of 238 arrivals refused (66%; the
local run: 0 of 80), and 114 arrivals in the busiest 2 s window against the 30 the
bucket lets through (shared: 0 refused, 25). The assertions below fail on that.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchwarden.testing.bucket_upstream import (
    BucketUpstream,
    HeaderMode,
    ThreadedBucketUpstream,
)
from benchwarden.testing.ray_cluster import LocalRayCluster
from tests.bench.cluster.test_ray_executor import placement
from tests.bench.test_runner import cli, write_suite

RPM = 600.0
CAPACITY = 10.0
WINDOW_S = 2.0
SAMPLES = 40  # x 2 epochs


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRayCluster]:
    with LocalRayCluster(head_cpus=0) as ray_cluster:
        ray_cluster.add_node(cpus=1)  # 127.0.0.3
        ray_cluster.add_node(cpus=1)  # 127.0.0.4
        yield ray_cluster


def write_config(path: Path, base_url: str) -> Path:
    path.write_text(
        "\n".join(
            [
                '[models."paced"]',
                'provider = "openai"',
                f'base_url = "{base_url}/v1"',
                'model = "m"',
                'purposes = ["benchmarking"]',
                "max_concurrency = 8",
                "time_budget_s = 60",
                "attempt_timeout_s = 10",
                "",
            ]
        )
    )
    return path


def busiest_window(times: list[float], window_s: float) -> int:
    """The most arrivals in any ``window_s`` seconds."""
    times, most, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while at - times[start] > window_s:
            start += 1
        most = max(most, end - start + 1)
    return most


def run_against_bucket(
    tmp_path: Path, name: str, *extra: str, headers: HeaderMode = "full"
) -> tuple[BucketUpstream, str]:
    with ThreadedBucketUpstream(
        rpm=RPM, capacity=CAPACITY, latency_s=0.05, headers=headers
    ) as server:
        config = write_config(tmp_path / f"{name}.toml", server.base_url)
        suite = write_suite(tmp_path, SAMPLES)
        db = tmp_path / "p.db"
        args = ["run", "-s", str(suite), "-m", "paced", "--epochs", "2", "--config", str(config)]
        result = cli(*args, "--db", str(db), "--run-id", name, "--no-cache", *extra)
    assert result.returncode == 0, result.stderr + result.stdout
    with sqlite3.connect(db) as conn:
        statuses = [
            s for (s,) in conn.execute("SELECT status FROM samples WHERE run_id = ?", (name,))
        ]
    assert statuses == ["ok"] * (2 * SAMPLES), result.stdout
    assert server.stats.accepted == 2 * SAMPLES  # every sample answered, none twice
    return server, result.stdout


# (what the provider says, how the budget paces, 429s the Ray run may meet beyond the
# local run's: a learnt rate is found anew in each run, so its count varies more)
MODES = [("full", "advertised", 2), ("retry-after", "learned", 5)]


@pytest.mark.parametrize(("headers", "mode", "slack"), MODES, ids=[m[0] for m in MODES])
def test_one_budget_for_the_whole_cluster(
    tmp_path: Path, cluster: LocalRayCluster, headers: HeaderMode, mode: str, slack: int
) -> None:
    local, _ = run_against_bucket(tmp_path, "local", headers=headers)
    remote, out = run_against_bucket(
        tmp_path, "ray", "--executor", "ray", "--ray-address", cluster.address, headers=headers
    )
    where = placement(out)
    assert sum(where.values()) == 2 * SAMPLES, out
    assert len(where) == 2, out  # both node processes called the provider
    envelope = CAPACITY + RPM / 60.0 * WINDOW_S  # what the bucket lets through
    arrivals = [at for at, _ in remote.stats.arrivals]
    figures = (
        f"ray: {remote.stats.refused} of {len(arrivals)} refused, busiest {WINDOW_S:g} s: "
        f"{busiest_window(arrivals, WINDOW_S)}; local: {local.stats.refused} of "
        f"{len(local.stats.arrivals)} refused"
    )
    assert busiest_window(arrivals, WINDOW_S) <= envelope, figures
    assert remote.stats.refused <= local.stats.refused + slack, figures
    assert remote.stats.accepted_rate() <= remote.rate * 1.05, figures
    # The driver says how the shared budget paced.
    note = re.search(rf"note: pacing shared by the cluster: .* m: {mode}, (\d+) requests/min", out)
    assert note is not None, out
    if mode == "advertised":
        assert 0.9 * RPM <= int(note.group(1)) <= RPM, out


def budget_pids(cluster: LocalRayCluster) -> list[int]:
    """The budget actor's process (Ray titles it after the class), on any node."""
    found = []
    for node in cluster.nodes:
        for pid in node.members():
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"PacingBudget" in title:
                found.append(pid)
    return found


def test_a_lost_budget_leaves_each_worker_pacing_on_its_own(
    tmp_path: Path, cluster: LocalRayCluster
) -> None:
    """SIGKILL of the budget's actor mid-run: calls in flight and later ones are paced
    in their worker's process, the run completes, and its notes say the budget is gone."""
    with ThreadedBucketUpstream(rpm=RPM, capacity=CAPACITY, latency_s=0.05) as server:
        config = write_config(tmp_path / "lost.toml", server.base_url)
        suite = write_suite(tmp_path, SAMPLES)
        db = tmp_path / "lost.db"
        args = ["run", "-s", str(suite), "-m", "paced", "--epochs", "2", "--config", str(config)]
        args += ["--db", str(db), "--run-id", "lost", "--no-cache", "--executor", "ray"]
        process = subprocess.Popen(
            [sys.executable, "-m", "benchwarden.cli", *args, "--ray-address", cluster.address],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        deadline = time.monotonic() + 120
        while server.stats.accepted < 20 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        pids = budget_pids(cluster)
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)
        out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err + out
    assert "80 samples recorded, 0 errors" in out, out
    assert server.stats.accepted == 2 * SAMPLES
    assert "note: the cluster's pacing budget did not answer" in out, out
