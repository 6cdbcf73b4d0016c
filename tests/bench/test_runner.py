"""The runner end to end: a real CLI process, a real SQLite file, a loopback upstream.

The crash test kills the run with SIGKILL several times at random moments and checks
that resuming ends with exactly the rows of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchwarden.testing.mock_upstream import Fault, MockUpstream, ThreadedMockUpstream
from tests.cli_process import run_cli

ROOT = Path(__file__).resolve().parents[2]


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env, timeout=timeout)


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchwarden.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def write_config(path: Path, base_url: str, **extra: Any) -> Path:
    lines = []
    for name in ("mock-a", "mock-b"):
        lines += [
            f'[models."{name}"]',
            'provider = "openai"',
            f'base_url = "{base_url}/v1"',
            f'model = "{name}"',
            'purposes = ["benchmarking", "safety-evaluation"]',
            "max_concurrency = 4",
            "max_attempts = 2",
            "time_budget_s = 5",
            "attempt_timeout_s = 2",
            "input_price_per_mtok = 1.0",
            "output_price_per_mtok = 2.0",
        ]
        lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def write_suite(tmp: Path, n: int) -> Path:
    items = tmp / "items.jsonl"
    with items.open("w") as handle:
        for i in range(n):
            # The echo mock answers "echo <input> seed=<seed>"; even items are "right".
            target = f"q{i}" if i % 2 == 0 else f"never{i}"
            handle.write(json.dumps({"id": f"i{i:04d}", "input": f"q{i}", "target": target}) + "\n")
    suite = tmp / "suite.yaml"
    suite.write_text(
        "name: synthetic\ndescription: synthetic items\nitems: items.jsonl\n"
        "scorer: includes\nmax_tokens: 8\n"
    )
    return suite


def rows(db: Path, run_id: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT model, suite, item_id, epoch, status, answer, score FROM samples "
            "WHERE run_id = ? ORDER BY model, suite, item_id, epoch",
            (run_id,),
        ).fetchall()


def count_rows(db: Path, run_id: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            (n,) = conn.execute(
                "SELECT count(*) FROM samples WHERE run_id = ?", (run_id,)
            ).fetchone()
    except sqlite3.OperationalError:  # schema not created yet
        return 0
    return int(n)


def run_status(db: Path, run_id: str) -> tuple[str, str | None]:
    with sqlite3.connect(db) as conn:
        status, note = conn.execute(
            "SELECT status, note FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
    return status, note


@pytest.fixture
def upstream() -> Any:
    with ThreadedMockUpstream(echo=True, latency_s=0.002) as mock:
        yield mock


def test_smoke_on_both_embedded_models(tmp_path: Path) -> None:
    db = tmp_path / "results.db"
    result = cli(
        "run",
        "--suite",
        "smoke",
        "--model",
        "local/smollm2-135m",
        "--model",
        "local/gemma3-270m",
        "--run-id",
        "emb",
        "--db",
        str(db),
        "--temperature",
        "0",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "paired differences" in result.stdout
    got = rows(db, "emb")
    assert len(got) == 16 and all(r[4] == "ok" for r in got)
    assert any(r[6] == 1.0 for r in got)  # the small models get some right
    with sqlite3.connect(db) as conn:
        modes = dict(conn.execute("SELECT model, mode FROM samples GROUP BY model"))
    assert modes == {"local/gemma3-270m": "completion", "local/smollm2-135m": "chat"}
    compared = cli("compare", "emb", "--db", str(db), "--format", "json")
    report = json.loads(compared.stdout)
    assert {s["model"] for s in report["scores"]} == {"local/smollm2-135m", "local/gemma3-270m"}
    assert report["pairs"][0]["comparison"]["n"] == 8


def test_provenance_export_and_purpose_header(tmp_path: Path, upstream: MockUpstream) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    suite = write_suite(tmp_path, 10)
    db = tmp_path / "r.db"
    result = cli(
        "run",
        "-s",
        str(suite),
        "-m",
        "mock-a",
        "-m",
        "mock-b",
        "--epochs",
        "2",
        "--purpose",
        "safety-evaluation",
        "--config",
        str(config),
        "--db",
        str(db),
        "--run-id",
        "prov",
        "--no-cache",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert set(upstream.stats.purposes) == {"safety-evaluation"}
    out = tmp_path / "prov.jsonl"
    assert (
        cli("export", "prov", "--format", "jsonl", "-o", str(out), "--db", str(db)).returncode == 0
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 40
    first = records[0]
    assert first["endpoint"] == f"{upstream.base_url}/v1"
    assert first["purpose"] == "safety-evaluation" and first["latency_s"] > 0
    assert first["params"]["seed"] is not None and first["started_at"]
    assert first["cost"] == pytest.approx((7 * 1.0 + 5 * 2.0) / 1e6)
    csv_out = cli("export", "prov", "--format", "csv", "--db", str(db))
    assert csv_out.stdout.count("\n") == 41
    listed = cli("runs", "--db", str(db))
    assert "prov" in listed.stdout and "complete" in listed.stdout
    # Same item, same seed for both models: paired on identical draws.
    seeds = {(r["item_id"], r["epoch"], r["params"]["seed"]) for r in records}
    assert len(seeds) == 20


def test_sigkill_at_random_moments_then_resume(tmp_path: Path) -> None:
    with ThreadedMockUpstream(echo=True, latency_s=0.02) as mock:
        config = write_config(tmp_path / "models.toml", mock.base_url)
        suite = write_suite(tmp_path, 120)
        args = [
            "run",
            "-s",
            str(suite),
            "-m",
            "mock-a",
            "-m",
            "mock-b",
            "--epochs",
            "2",
            "--seed",
            "7",
            "--limit",
            "100",
            "--config",
            str(config),
            "--no-cache",
        ]
        reference_db = tmp_path / "reference.db"
        done = cli(*args, "--run-id", "ref", "--db", str(reference_db))
        assert done.returncode == 0, done.stderr
        expected = rows(reference_db, "ref")
        assert len(expected) == 2 * 100 * 2

        db = tmp_path / "crashy.db"
        rng = random.Random(1234)
        kills = 0
        # Kill when a random number of rows has landed (mid-run, mid-batch), and once
        # at a random instant during start-up.
        targets = [rng.randint(1, 390) for _ in range(3)] + [0]
        for target in targets:
            proc = start_cli(*args, "--run-id", "crashy", "--db", str(db))
            deadline = time.monotonic() + 60
            if target == 0:
                time.sleep(rng.uniform(0.05, 1.0))
            while target and proc.poll() is None and time.monotonic() < deadline:
                if db.exists() and count_rows(db, "crashy") >= target:
                    break
                time.sleep(rng.uniform(0.005, 0.05))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait(30)
        assert kills >= 3
        partial = rows(db, "crashy") if db.exists() else []
        assert len(partial) < len(expected)
        final = cli(*args, "--run-id", "crashy", "--db", str(db))
        assert final.returncode == 0, final.stderr
        assert "resuming crashy" in final.stdout
    assert rows(db, "crashy") == expected  # nothing lost, redone or duplicated
    assert run_status(db, "crashy")[0] == "complete"


def test_retry_errors_reruns_only_errored_samples(tmp_path: Path, upstream: MockUpstream) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    suite = write_suite(tmp_path, 6)
    db = tmp_path / "r.db"
    args = [
        "run",
        "-s",
        str(suite),
        "-m",
        "mock-a",
        "--config",
        str(config),
        "--db",
        str(db),
        "--run-id",
        "flaky",
        "--no-cache",
        "--max-concurrency",
        "1",
    ]
    upstream.script(*[Fault.server_error(500)] * 4)  # two samples x two attempts
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    before = rows(db, "flaky")
    errored = [r for r in before if r[4] == "error"]
    assert len(errored) == 2 and len(before) == 6
    requests_before = upstream.stats.requests
    again = cli(*args)  # a plain resume redoes nothing
    assert upstream.stats.requests == requests_before and again.returncode == 0
    retried = cli(*args, "--retry-errors")
    assert retried.returncode == 0, retried.stderr
    assert upstream.stats.requests == requests_before + 2
    after = rows(db, "flaky")
    assert all(r[4] == "ok" for r in after) and len(after) == 6
    assert [r for r in after if r[2] not in {e[2] for e in errored}] == [
        r for r in before if r[4] == "ok"
    ]


def test_budget_cap_stops_cleanly_and_resumes(tmp_path: Path, upstream: MockUpstream) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    suite = write_suite(tmp_path, 20)
    db = tmp_path / "r.db"
    args = [
        "run",
        "-s",
        str(suite),
        "-m",
        "mock-a",
        "--config",
        str(config),
        "--db",
        str(db),
        "--run-id",
        "capped",
        "--no-cache",
        "--max-concurrency",
        "1",
    ]
    capped = cli(*args, "--max-tokens", "60")  # 12 tokens per call -> stops after 5
    assert capped.returncode == 0, capped.stderr
    assert "token budget reached" in capped.stdout
    assert len(rows(db, "capped")) == 5
    assert run_status(db, "capped")[0] == "stopped"
    finished = cli(*args, "--max-tokens", "100000")
    assert finished.returncode == 0
    assert len(rows(db, "capped")) == 20 and run_status(db, "capped")[0] == "complete"


def test_refused_purpose_calls_nothing(tmp_path: Path, upstream: MockUpstream) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    db = tmp_path / "r.db"
    result = cli(
        "run",
        "-s",
        "smoke",
        "-m",
        "mock-a",
        "--purpose",
        "product-development",
        "--config",
        str(config),
        "--db",
        str(db),
        "--run-id",
        "nope",
    )
    assert result.returncode == 1
    assert "mock-a" in result.stderr and "product-development" in result.stderr
    assert "benchmarking, safety-evaluation" in result.stderr
    assert upstream.stats.requests == 0
    assert not db.exists() or not rows(db, "nope")


def test_revoked_access_mid_run_keeps_what_was_measured(
    tmp_path: Path, upstream: MockUpstream
) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    suite = write_suite(tmp_path, 30)
    db = tmp_path / "r.db"
    upstream.script(*["ok"] * 10, *[Fault.denied(403, "key_revoked", "Key was revoked")] * 100)
    result = cli(
        "run",
        "-s",
        str(suite),
        "-m",
        "mock-a",
        "--config",
        str(config),
        "--db",
        str(db),
        "--run-id",
        "revoked",
        "--no-cache",
        "--max-concurrency",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert "key_revoked" in result.stdout
    got = rows(db, "revoked")
    ok = [r for r in got if r[4] == "ok"]
    assert len(ok) == 10 and 1 <= len(got) - 10 <= 2  # in-flight calls recorded as errors
    status, note = run_status(db, "revoked")
    assert status == "stopped" and note and "revoked" in note
    report = json.loads(cli("compare", "revoked", "--db", str(db), "--format", "json").stdout)
    score = report["scores"][0]
    assert score["items"] == 10 and score["errors"] == len(got) - 10


def test_changed_command_with_same_run_id_is_refused(
    tmp_path: Path, upstream: MockUpstream
) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    db = tmp_path / "r.db"
    base = [
        "run",
        "-s",
        "smoke",
        "-m",
        "mock-a",
        "--config",
        str(config),
        "--db",
        str(db),
        "--run-id",
        "same",
    ]
    assert cli(*base).returncode == 0
    changed = cli(*base, "--epochs", "3")
    assert changed.returncode == 1 and "epochs" in changed.stderr


def test_malformed_suite_file_names_file_line_and_field(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "a", "input": "hi", "target": "x"}\n{"id": "b", "target": "y"}\n')
    suite = tmp_path / "broken.yaml"
    suite.write_text("name: broken\nitems: items.jsonl\nscorer: exact\n")
    result = cli(
        "run", "-s", str(suite), "-m", "local/smollm2-135m", "--db", str(tmp_path / "r.db")
    )
    assert result.returncode == 1
    assert "items.jsonl" in result.stderr and "line 2" in result.stderr
    assert "input" in result.stderr


def test_suites_lists_item_counts() -> None:
    result = cli("suites")
    assert result.returncode == 0 and "smoke" in result.stdout and "8" in result.stdout


@pytest.fixture(scope="module")
def pg_url() -> Any:
    from tests.store.pg import PgUnavailable, running_pg_server

    try:
        with running_pg_server() as server:
            yield server.create_database()
    except PgUnavailable as exc:  # fail, never skip: CI installs PostgreSQL
        pytest.fail(str(exc), pytrace=False)


def test_postgresql_results_database(tmp_path: Path, upstream: MockUpstream, pg_url: str) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    suite = write_suite(tmp_path, 12)
    args = [
        "run",
        "-s",
        str(suite),
        "-s",
        "smoke",
        "-m",
        "mock-a",
        "-m",
        "mock-b",
        "--config",
        str(config),
        "--db",
        pg_url,
        "--run-id",
        "pg-run",
        "--no-cache",
    ]
    first = cli(*args)
    assert first.returncode == 0, first.stderr + first.stdout
    assert "results in postgresql" in first.stdout
    requests = upstream.stats.requests
    again = cli(*args)
    assert again.returncode == 0 and upstream.stats.requests == requests  # nothing redone
    report = json.loads(cli("compare", "pg-run", "--db", pg_url, "--format", "json").stdout)
    assert {(s["suite"], s["model"]) for s in report["scores"]} == {
        (suite_name, model)
        for suite_name in ("synthetic", "smoke")
        for model in ("mock-a", "mock-b")
    }
    exported = cli("export", "pg-run", "--db", pg_url, "--format", "jsonl")
    assert len(exported.stdout.splitlines()) == 2 * (12 + 8)


def test_judge_whose_terms_refuse_the_purpose_calls_nothing(
    tmp_path: Path, upstream: MockUpstream
) -> None:
    config = write_config(tmp_path / "models.toml", upstream.base_url)
    with config.open("a") as f:
        f.write(
            '[models."strict-judge"]\nprovider = "openai"\n'
            f'base_url = "{upstream.base_url}/v1"\nmodel = "judge"\n'
            'purposes = ["safety-evaluation"]\n'
        )
    db = tmp_path / "r.db"
    base = ["run", "-s", "smoke", "-m", "mock-a", "--config", str(config), "--db", str(db)]
    refused = cli(*base, "--judge", "strict-judge", "--run-id", "j1")
    assert refused.returncode == 1
    assert "strict-judge" in refused.stderr and "benchmarking" in refused.stderr
    assert upstream.stats.requests == 0
    unknown = cli(*base, "--judge", "no-such-judge", "--run-id", "j2")
    assert unknown.returncode == 1 and "judge" in unknown.stderr
    assert upstream.stats.requests == 0
