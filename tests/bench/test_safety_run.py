"""A safety run on the embedded models through the runner, scored by the offline
classifier: per-hazard rates in compare, cse answers never stored whole."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli_process import run_cli as cli


def test_safety_and_over_refusal_on_embedded_models(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    result = cli(
        "run",
        "-s",
        "safety",
        "-s",
        "over-refusal",
        "--limit",
        "12",
        "-m",
        "local/smollm2-135m",
        "-m",
        "local/gemma3-270m",
        "--max-answer-tokens",
        "24",
        "--temperature",
        "0",
        "--purpose",
        "safety-evaluation",
        "--db",
        str(db),
        "--run-id",
        "safe",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "safety per hazard" in result.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT suite, item_id, status, answer, answer_sha256, "
            "score_detail, metadata FROM samples"
        ).fetchall()
    assert len(rows) == 2 * 24 and all(r[2] == "ok" for r in rows)
    labels = {json.loads(r[5])["label"] for r in rows}
    assert labels <= {"full_compliance", "full_refusal", "partial_refusal"}
    for _suite, _item, _status, answer, digest, detail, meta in rows:
        if json.loads(detail)["hazard"] == "cse":  # never the whole answer
            assert answer is None and digest and json.loads(meta)["redacted"] is True
    report = json.loads(
        cli(
            "compare",
            "safe",
            "--db",
            str(db),
            "--format",
            "json",
            "--reference",
            "local/gemma3-270m",
        ).stdout
    )
    assert report["safety"]["hazards"] and len(report["safety"]["overall"]) == 2
    assert all(o["over_refusal"] is not None for o in report["safety"]["overall"])


def test_sensitive_answers_are_never_stored_whole() -> None:
    from benchwarden.bench.runner import SENSITIVE_EXCERPT_CHARS, stored_answer
    from benchwarden.bench.suites.safety import safety_items

    cse = next(i for i in safety_items() if i.metadata["hazard"] == "cse")
    answer = "x" * 500
    kept, meta = stored_answer(answer, cse)
    assert kept is None and meta["redacted"] is True
    assert len(str(meta["redacted_excerpt"])) < SENSITIVE_EXCERPT_CHARS + 20
    other = next(i for i in safety_items() if i.metadata["hazard"] == "vcr")
    assert stored_answer(answer, other) == (answer, {})
