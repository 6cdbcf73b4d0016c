"""`benchwarden run` under a rate limit that outlasts the time budget: the samples it
held back are not errors; the run says how many are not done, exits non-zero and
names the command that resumes them, and that command finishes the run."""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

from benchwarden.testing.bucket_upstream import ThreadedBucketUpstream

KEY = "sk-bucket-never-print-0123456789"


def _run(argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "BUCKET_KEY": KEY, "BENCHWARDEN_HOME": str(home)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=240, check=False)


def test_a_rate_limit_past_the_budget_leaves_samples_to_resume(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(
        "".join(f'{{"id": "q{i}", "input": "Say A. ({i})", "target": "A"}}\n' for i in range(6))
    )
    suite = tmp_path / "paced.yaml"
    suite.write_text("name: paced\nitems: items.jsonl\nscorer: includes\nmax_tokens: 1\n")
    db = tmp_path / "results.db"
    # 6 requests a minute, 2 at once: after the first two, each turn is 10 s away, past
    # the model's 3 s budget per call.
    with ThreadedBucketUpstream(rpm=6, capacity=2, latency_s=0.01, headers="full") as server:
        config = tmp_path / "models.toml"
        config.write_text(
            f'[models."bucket"]\nprovider = "openai"\nbase_url = "{server.base_url}/v1"\n'
            'model = "m"\napi_key_env = "BUCKET_KEY"\npurposes = ["benchmarking"]\n'
            "time_budget_s = 3\nmax_concurrency = 2\n"
        )
        argv = [sys.executable, "-m", "benchwarden.cli", "run", "-s", str(suite)]
        argv += ["-m", "bucket", "--config", str(config), "--db", str(db), "--no-cache"]
        first = _run(argv, tmp_path / "home")
        out = first.stdout + first.stderr
        assert first.returncode == 3, out
        assert "samples not done" in out and "rate limit" in out
        assert KEY not in out
        resume = [line for line in out.splitlines() if "--run-id" in line]
        assert resume, out
        command = shlex.split(resume[-1].strip())
        assert command[:3] == ["benchwarden", "run", "-s"]
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT status, count(*) FROM samples GROUP BY status").fetchall()
        assert dict(rows).get("error", 0) == 0  # held back, not failed
        answered = dict(rows).get("ok", 0)
        assert 1 <= answered < 6
        assert f"{6 - answered} samples not done" in out

        server.set_rpm(600)  # the provider raised the limit: resume as told
        second = _run([sys.executable, "-m", "benchwarden.cli", *command[1:]], tmp_path / "home")
        assert second.returncode == 0, second.stdout + second.stderr
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT status, count(*) FROM samples GROUP BY status").fetchall()
        assert dict(rows) == {"ok": 6}
