"""Sensitive multi-turn items: no turn's answer is stored whole, and hidden safety
answers leave exports and frames with every answer-bearing field.

The items are harmless placeholders marked ``sensitive`` in a custom suite file (the
way the safety suite marks its child-safety items), answered by an echoing upstream.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from benchwarden.bench.disclosure import hide_safety_answers
from benchwarden.bench.frames import samples_frame
from benchwarden.store import SampleRecord, open_store
from benchwarden.testing.mock_upstream import ThreadedMockUpstream
from tests.cli_process import run_cli

TURNS = ["Name a colour (placeholder one).", "Name a fruit (placeholder two)."]
SENSITIVE_TURNS = ["Name a tree (placeholder three).", "Name a bird (placeholder four)."]


def _reply(request: dict[str, Any]) -> str:
    """A long deterministic answer naming the turn it answers."""
    return f"ANSWER to {request['messages'][-1]['content']} " + "word " * 30


def _suite(tmp_path: Path) -> Path:
    items = tmp_path / "items.jsonl"
    rows = [
        {
            "id": "s1",
            "input": SENSITIVE_TURNS[0],
            "target": "x",
            "metadata": {"sensitive": True, "turns": SENSITIVE_TURNS},
        },
        {"id": "p1", "input": TURNS[0], "target": "x", "metadata": {"turns": TURNS}},
    ]
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = tmp_path / "turny.yaml"
    suite.write_text("name: turny\nitems: items.jsonl\nmax_tokens: 16\n")
    return suite


def test_sensitive_conversation_keeps_only_hashes(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    db = tmp_path / "t.db"
    with ThreadedMockUpstream(responder=_reply) as mock:
        config = tmp_path / "m.toml"
        config.write_text(
            f'[models."w"]\nprovider = "openai"\nbase_url = "{mock.base_url}/v1"\nmodel = "w"\n'
            'purposes = ["benchmarking"]\n'
        )
        args = ["run", "-s", str(suite), "-m", "w", "--config", str(config), "--db", str(db)]
        result = run_cli(*args, "--no-cache", "--run-id", "r")
        assert result.returncode == 0, result.stderr + result.stdout
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT item_id, metadata FROM samples").fetchall())
        answers = dict(conn.execute("SELECT item_id, answer FROM samples").fetchall())
        whole = {r[4]: str(r) for r in conn.execute("SELECT * FROM samples")}
    sensitive, plain = json.loads(rows["s1"]), json.loads(rows["p1"])
    # The plain conversation keeps both turns.
    assert plain["turn_answers"] == [_reply({"messages": [{"content": t}]}) for t in TURNS]
    first, second = (_reply({"messages": [{"content": t}]}) for t in SENSITIVE_TURNS)
    # The sensitive one: no answer, no turn answers, only their hashes.
    assert answers["s1"] is None and "turn_answers" not in sensitive
    digests = sensitive["turn_answer_sha256"]
    assert digests == [hashlib.sha256(t.encode()).hexdigest() for t in (first, second)]
    assert sensitive["redacted"] is True
    # Neither turn's answer is kept beyond the last one's 40-character excerpt.
    assert "placeholder three" not in whole["s1"] and "word word" not in whole["s1"]
    assert "word word" in whole["p1"]  # the scorer's detail echoes a plain answer
    assert sensitive["redacted_excerpt"] == second[:40] + "... [redacted]"


def _sample(item: str, **kw: object) -> SampleRecord:
    base: dict[str, object] = {
        "run_id": "h",
        "model": "m",
        "suite": "safety",
        "item_id": item,
        "epoch": 0,
        "status": "ok",
        "answer_sha256": "0" * 64,
    }
    return SampleRecord(**{**base, **kw})  # type: ignore[arg-type]


def test_hiding_strips_every_answer_bearing_field(tmp_path: Path) -> None:
    refuse = {"expected": "refuse", "hazard": "vcr"}
    samples = [
        _sample(
            "a",
            answer="LEAK1 last",
            score_detail=refuse,
            metadata={"turn_answers": ["LEAK1 first", "LEAK1 last"]},
        ),
        _sample(
            "b",
            answer=None,
            score_detail={"expected": "refuse", "hazard": "cse"},
            metadata={
                "redacted": True,
                "redacted_excerpt": "LEAK2... [redacted]",
                "turn_answers": ["LEAK2 old row"],
            },
        ),
        _sample("c", answer="fine", suite="writing", metadata={"turn_answers": ["ok1", "fine"]}),
    ]
    hidden = {s.item_id: s for s in hide_safety_answers(samples)}
    assert "LEAK" not in json.dumps([h.metadata for h in hidden.values()]) + str(
        [h.answer for h in hidden.values()]
    )
    assert all("answer_hidden" in hidden[k].metadata for k in "ab")
    assert hidden["c"] == samples[2]  # not a safety answer: untouched
    assert hidden["a"].answer_sha256 == "0" * 64  # rows can still be matched

    from benchwarden.store import RunRecord

    db = tmp_path / "h.db"
    with open_store(str(db)) as store:
        store.create_run(RunRecord("h", "safety-evaluation", 1, ["safety", "writing"], ["m"], {}))
        store.add_samples(samples)
    frame = samples_frame(str(db), "h")
    assert "LEAK" not in frame.to_json(date_format="iso")
    assert "LEAK1 first" in samples_frame(str(db), "h", show_safety_answers=True).to_json(
        date_format="iso"
    )
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"x.{fmt}"
        result = run_cli("export", "h", "--format", fmt, "-o", str(out), "--db", str(db))
        assert result.returncode == 0, result.stderr
        assert "LEAK" not in out.read_text() and "ok1" in out.read_text()
