"""Writing runs through the real CLI: contestants and scripted judges on loopback
(order swapping, the tie rule, position bias, resume), and a two-turn conversation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchwarden.bench.writing.prompts import PAIRWISE_VERSION, SINGLE_VERSION
from benchwarden.testing.mock_upstream import Fault, MockUpstream, ThreadedMockUpstream
from tests.bench.writing.judged_run import slot_a
from tests.cli_process import run_cli as cli

ALPHA = "A tale of alpha: the lighthouse keeper counted waves until the sea answered."
BETA = "beta."


def fair_judge(body: dict[str, Any]) -> str:
    """Prefers alpha's answer wherever it sits: much better in slot A, better in B."""
    return "[[A>>B]] richer" if "alpha" in slot_a(body) else "[[B>A]] richer"


def slot_judge(body: dict[str, Any]) -> str:
    """Always prefers whatever sits in slot A: pure position bias."""
    return "[[A>B]]"


@pytest.fixture
def upstreams() -> Iterator[dict[str, MockUpstream]]:
    with (
        ThreadedMockUpstream(reply=ALPHA) as alpha,
        ThreadedMockUpstream(reply=BETA) as beta,
        ThreadedMockUpstream(responder=fair_judge) as fair,
        ThreadedMockUpstream(responder=slot_judge) as slot,
    ):
        yield {"alpha-writer": alpha, "beta-writer": beta, "alpha-judge": fair, "slot-judge": slot}


def _config(path: Path, upstreams: dict[str, MockUpstream]) -> Path:
    path.write_text(
        "".join(
            f'[models."{name}"]\nprovider = "openai"\nbase_url = "{mock.base_url}/v1"\n'
            f'model = "{name}"\npurposes = ["benchmarking"]\n\n'
            for name, mock in upstreams.items()
        )
    )
    return path


def _judgments(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM writing_judgments ORDER BY id")]


def test_pairwise_both_orders_bias_and_resume(
    tmp_path: Path, upstreams: dict[str, MockUpstream]
) -> None:
    config = _config(tmp_path / "models.toml", upstreams)
    db = tmp_path / "w.db"
    fair, slot = upstreams["alpha-judge"], upstreams["slot-judge"]
    # One slot-judge call fails with a client error (not retried): an 'error' row.
    slot.script(Fault("status", 400, {"error": {"message": "bad", "type": "x", "code": None}}))
    args = ["run", "-s", "writing", "--limit", "6", "-m", "alpha-writer", "-m", "beta-writer"]
    args += ["--judge", "alpha-judge", "--judge", "slot-judge", "--config", str(config)]
    args += ["--db", str(db), "--run-id", "w1"]
    first = cli(*args)
    assert first.returncode == 0, first.stderr + first.stdout
    # 6 items x 1 pair x 2 orders per judge; every call carried the run's purpose.
    assert fair.stats.requests == 12 and slot.stats.requests == 12
    assert set(fair.stats.purposes) == {"benchmarking"}
    rows = _judgments(db)
    assert len(rows) == 24
    assert {r["prompt_version"] for r in rows} == {PAIRWISE_VERSION}
    assert sum(r["status"] == "error" for r in rows) == 1
    # Both orders of every pair were asked, each answer once in slot A.
    for judge in ("alpha-judge", "slot-judge"):
        orders = {(r["item_id"], r["model_a"], r["model_b"]) for r in rows if r["judge"] == judge}
        for item, a, b in orders:
            assert (item, b, a) in orders
    slots = [slot_a(b) for b in fair.stats.bodies]
    assert sorted(slots) == sorted([ALPHA] * 6 + [BETA] * 6)

    # Resume: only the failed judgment is asked again; nothing else is re-judged.
    again = cli(*args)
    assert again.returncode == 0, again.stderr + again.stdout
    assert fair.stats.requests == 12 and slot.stats.requests == 13
    rows = _judgments(db)
    assert len(rows) == 24 and all(r["status"] == "ok" for r in rows)

    report = json.loads(cli("compare", "w1", "--db", str(db), "--format", "json").stdout)
    writing = report["writing"]
    bias = {b["judge"]: b for b in writing["position_bias"]}
    assert bias["alpha-judge"]["pairs"] == 6 and bias["alpha-judge"]["flips"] == 0
    assert bias["slot-judge"]["flips"] == 6 and bias["slot-judge"]["rate"]["estimate"] == 1.0
    assert bias["slot-judge"]["first_slot_win_rate"] == 1.0
    counts = {c["judge"]: c for c in writing["verdicts"]}
    assert counts["slot-judge"]["pairs_inconsistent"] == 6  # each became a tie
    # alpha wins every pair by the fair judge, ties every pair by the slot judge.
    (win,) = writing["win_rates"]
    assert (win["model"], win["baseline"]) == ("beta-writer", "alpha-writer")
    assert (win["wins"], win["ties"], win["losses"]) == (0, 6, 6)
    assert win["rate"]["estimate"] == pytest.approx(0.25)
    raw = {r["model"]: r for r in writing["ratings"]["raw"]}
    assert raw["alpha-writer"]["rating"] == 1000 and raw["beta-writer"]["rating"] < 1000
    assert writing["ratings"]["length_controlled"]
    agreement = writing["agreement"]
    assert agreement["method"] == "cohen" and agreement["n"] == 6
    assert agreement["observed"] == 0.0
    assert any("alpha-judge shares the 'alpha' family" in w for w in writing["warnings"])
    assert any("slot-judge" in w and "position bias" in w for w in writing["warnings"])
    assert writing["prompt_versions"] == [PAIRWISE_VERSION]

    table = cli("compare", "w1", "--db", str(db), "--baseline", "beta-writer")
    assert table.returncode == 0, table.stderr
    assert "Bradley–Terry" in table.stdout and "length-controlled" in table.stdout
    assert "position bias" in table.stdout and "Cohen's kappa" in table.stdout

    html_file = tmp_path / "w1.html"
    made = cli("report", "w1", "--db", str(db), "-o", str(html_file))
    assert made.returncode == 0, made.stderr
    html = html_file.read_text()
    assert 'data-chart="writing-ratings"' in html and 'data-chart="writing-position-bias"' in html
    assert "length-controlled" in html and "cohen" in html and PAIRWISE_VERSION in html
    assert "beta-writer" in html and "0-6-6" in html  # the win-rate row
    assert ALPHA not in html  # answers are not in the report


def test_single_grades_for_one_model(tmp_path: Path) -> None:
    replies = iter(["[[8]] vivid", "Rating: 6/10", "I enjoyed it."] * 4)
    with (
        ThreadedMockUpstream(reply=ALPHA) as writer,
        ThreadedMockUpstream(responder=lambda body: next(replies)) as grader,
    ):
        config = _config(tmp_path / "m.toml", {"writer": writer, "grader": grader})
        db = tmp_path / "s.db"
        args = ["run", "-s", "writing", "--limit", "3", "-m", "writer", "--judge", "grader"]
        result = cli(*args, "--config", str(config), "--db", str(db), "--run-id", "s1")
        assert result.returncode == 0, result.stderr + result.stdout
        assert grader.stats.requests == 3
    rows = _judgments(db)
    assert {r["kind"] for r in rows} == {"single"} and {r["model_b"] for r in rows} == {""}
    assert sorted(str(r["verdict"]) for r in rows) == ["6", "8", "None"]
    assert {r["prompt_version"] for r in rows} == {SINGLE_VERSION}
    report = json.loads(cli("compare", "s1", "--db", str(db), "--format", "json").stdout)
    (grade,) = report["writing"]["grades"]
    assert grade["items"] == 2 and grade["unparsed"] == 1
    assert grade["mean"]["estimate"] == pytest.approx(7.0)
    assert report["writing"]["ratings"] is None


def test_resume_rejudges_stale_judgments(
    tmp_path: Path, upstreams: dict[str, MockUpstream]
) -> None:
    """Judgments asked with another prompt version, or on an answer that was replaced
    since, are asked again on resume (and only those); until then the summary leaves
    them out and says so."""
    import hashlib

    config = _config(tmp_path / "models.toml", upstreams)
    db = tmp_path / "w.db"
    fair = upstreams["alpha-judge"]
    args = ["run", "-s", "writing", "--limit", "4", "-m", "alpha-writer", "-m", "beta-writer"]
    args += ["--judge", "alpha-judge", "--config", str(config), "--db", str(db), "--run-id", "r"]
    args += ["--no-cache"]  # the old-version item is asked with the same text again
    assert cli(*args).returncode == 0
    assert fair.stats.requests == 8
    with sqlite3.connect(db) as conn:
        items = sorted(
            r[0]
            for r in conn.execute("SELECT item_id, metadata FROM samples")
            if "turn_answers" not in json.loads(r[1])
        )
        old_item, new_item = items[0], items[-1]
        # One item judged with an older prompt; another whose alpha answer was replaced.
        conn.execute(
            "UPDATE writing_judgments SET prompt_version = 'writing-pairwise-v0' WHERE item_id = ?",
            (old_item,),
        )
        replaced = ALPHA + " (alpha, retold)"
        conn.execute(
            "UPDATE samples SET answer = ?, answer_sha256 = ? "
            "WHERE item_id = ? AND model = 'alpha-writer'",
            (replaced, hashlib.sha256(replaced.encode()).hexdigest(), new_item),
        )
    before = json.loads(cli("compare", "r", "--db", str(db), "--format", "json").stdout)
    assert before["writing"]["prompt_versions"] == [PAIRWISE_VERSION]
    assert any("4 judgments left out" in w for w in before["writing"]["warnings"])
    assert before["writing"]["position_bias"][0]["pairs"] == 2  # only the current ones

    assert cli(*args).returncode == 0
    assert fair.stats.requests == 8 + 4  # both orders of the two stale items, no more
    assert sum(replaced in slot_a(b) for b in fair.stats.bodies[8:]) == 1
    rows = _judgments(db)
    assert len(rows) == 8 and {r["prompt_version"] for r in rows} == {PAIRWISE_VERSION}
    digest = hashlib.sha256(replaced.encode()).hexdigest()
    mine = [r for r in rows if r["item_id"] == new_item]
    assert all(digest in (r["answer_a_sha256"], r["answer_b_sha256"]) for r in mine)
    after = json.loads(cli("compare", "r", "--db", str(db), "--format", "json").stdout)
    assert not any("left out" in w for w in after["writing"]["warnings"])
    assert after["writing"]["position_bias"][0]["pairs"] == 4
    assert cli(*args).returncode == 0 and fair.stats.requests == 12  # nothing stale now
