"""A coding run end to end: embedded models answer HumanEval items, the answers run in
the sandbox, and compare reports pass@k with the error kinds kept per sample."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli_process import run_cli as cli


def test_humaneval_plus_on_embedded_models(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    result = cli(
        "run",
        "-s",
        "humaneval-plus",
        "--limit",
        "3",
        "--epochs",
        "2",
        "-m",
        "local/gemma3-270m",
        "-m",
        "local/smollm2-135m",
        "--temperature",
        "0.2",
        "--max-answer-tokens",
        "96",
        "--db",
        str(db),
        "--run-id",
        "code",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT model, status, passed, score_detail FROM samples").fetchall()
    assert len(rows) == 2 * 3 * 2 and all(r[1] == "ok" for r in rows)
    details = [json.loads(r[3]) for r in rows]
    assert all(d["isolation"] == "bwrap" for d in details)
    for row, detail in zip(rows, details, strict=True):
        if not row[2]:
            assert detail["error_kind"] in {
                "syntax",
                "assertion",
                "wrong_answer",
                "timeout",
                "memory",
                "crash",
                "output_limit",
            }
        assert "base_passed" in detail and "plus_passed" in detail
    report = json.loads(cli("compare", "code", "--db", str(db), "--format", "json").stdout)
    for score in report["scores"]:
        assert set(score["pass_at_k"]) == {"pass@1"}  # pass@k needs k samples per item
        assert set(score["parts"]) == {"base", "plus"}
