"""A writing run on the embedded models, judged by an embedded model, through the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from benchwarden.bench.plan import select_items
from benchwarden.bench.suites.writing import writing_items
from benchwarden.bench.writing.verdicts import PAIRWISE_VERDICTS
from tests.cli_process import run_cli as cli


def test_embedded_contestants_and_judge(tmp_path: Path) -> None:
    items = writing_items()
    # A short MT-Bench first turn keeps the tiny judge's prompt small.
    seed = next(
        s
        for s in range(500)
        if (i := select_items(items, 1, s, "writing")[0]).id.startswith("mt-bench/")
        and "turn-2" not in i.id
    )
    db = tmp_path / "e.db"
    args = ["run", "-s", "writing", "--limit", "1", "--seed", str(seed)]
    args += ["-m", "local/smollm2-135m", "-m", "local/gemma3-270m"]
    args += ["--judge", "local/smollm2-135m", "--max-answer-tokens", "12", "--temperature", "0"]
    result = cli(*args, "--db", str(db), "--run-id", "emb")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "embedded judges are weak" in result.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT model_a, model_b, status, verdict, error_message FROM writing_judgments"
        ).fetchall()
    assert len(rows) == 2  # one pair, both orders
    assert {(a, b) for a, b, *_ in rows} == {
        ("local/smollm2-135m", "local/gemma3-270m"),
        ("local/gemma3-270m", "local/smollm2-135m"),
    }
    for _a, _b, status, verdict, error in rows:
        # The grammar holds even a tiny judge to the scale; nothing is guessed.
        assert error is None and status == "ok" and verdict in PAIRWISE_VERDICTS
    report = json.loads(cli("compare", "emb", "--db", str(db), "--format", "json").stdout)
    writing = report["writing"]
    assert any("tiny embedded model" in w for w in writing["warnings"])
    assert any("smollm2-135m is itself a contestant" in w for w in writing["warnings"])
    (bias,) = writing["position_bias"]
    assert bias["pairs"] == 1 and bias["flips"] in (0, 1)
    assert writing["ratings"] is not None
