"""Answers made elsewhere, scored by the real CLI exactly as live answers are: the same
answers served by a loopback upstream and by a replay file get the same scores; a
missing answer is that item's error; the XSTest table from the shared completion sets."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchwarden.bench.suites.smoke import smoke_items
from benchwarden.testing.mock_upstream import ThreadedMockUpstream
from tests.cli_process import run_cli

ROOT = Path(__file__).resolve().parents[2]
# Right, wrong and odd answers: the scorer must treat each the same on both paths.
ANSWERS = {
    "capital-japan": "Tokyo.",
    "capital-france": "It is Lyon, I think.",
    "two-plus-two": "four",
    "days-in-week": "",
    "opposite-hot": "COLD!",
    "sky-color": "Blue, mostly.\nSometimes grey.",
    "freezing-water": "0 °C",
}
MISSING = "legs-spider"


def _samples(db: Path) -> dict[tuple[str, str], dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM samples").fetchall()
    return {(r["model"], r["item_id"]): dict(r) for r in rows}


def test_replay_scores_like_a_live_model_and_names_a_missing_item(tmp_path: Path) -> None:
    by_prompt = {i.messages[0].content: ANSWERS.get(i.id, "eight") for i in smoke_items()}
    answers = tmp_path / "answers.csv"
    with answers.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "answer"])
        writer.writerows(ANSWERS.items())
    db = tmp_path / "r.db"

    def reply(request: dict[str, Any]) -> str:
        return by_prompt[request["messages"][-1]["content"]]

    with ThreadedMockUpstream(responder=reply) as mock:
        config = tmp_path / "m.toml"
        config.write_text(
            f'[models."live"]\nprovider = "openai"\nbase_url = "{mock.base_url}/v1"\n'
            'model = "live"\npurposes = ["benchmarking"]\n'
        )
        replay = f"replay:{answers}"
        args = ["run", "-s", "smoke", "-m", "live", "-m", replay, "--config", str(config)]
        result = run_cli(*args, "--db", str(db), "--no-cache", "--run-id", "r")
    assert result.returncode == 0, result.stderr + result.stdout
    samples = _samples(db)
    digest = hashlib.sha256(answers.read_bytes()).hexdigest()
    for item in ANSWERS:
        live, recorded = samples[("live", item)], samples[(replay, item)]
        assert recorded["status"] == "ok"
        for column in ("answer", "answer_sha256", "score", "passed", "score_detail"):
            assert recorded[column] == live[column], (item, column)
        assert recorded["endpoint"] == replay
        meta = json.loads(recorded["metadata"])
        assert meta["replay"]["sha256"] == digest and meta["replay"]["matched_by"] == "id"
    assert {samples[("replay:" + str(answers), i)]["passed"] for i in ANSWERS} == {0, 1}
    missing = samples[(replay, MISSING)]
    assert missing["status"] == "error" and missing["error_kind"] == "answer_missing"
    assert f"no recorded answer for item {MISSING!r} in answers.csv" in missing["error_message"]
    assert samples[("live", MISSING)]["status"] == "ok"
    with sqlite3.connect(db) as conn:
        (settings,) = conn.execute("SELECT settings FROM runs").fetchone()
    assert json.loads(settings)["endpoints"][replay] == f"replay:{answers}"


def test_models_file_entry_matches_by_prompt(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    rows = [{"prompt": i.messages[0].content, "response": "Paris"} for i in smoke_items()]
    (tmp_path / "vendor" / "out.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "m.toml"
    config.write_text('[models."vendor"]\nprovider = "replay"\npath = "vendor/out.jsonl"\n')
    db = tmp_path / "r.db"
    result = run_cli("run", "-s", "smoke", "-m", "vendor", "--config", str(config), "--db", str(db))
    assert result.returncode == 0, result.stderr + result.stdout
    samples = _samples(db)
    assert {s["status"] for s in samples.values()} == {"ok"}
    assert [k[1] for k, s in samples.items() if s["passed"]] == ["capital-france"]
    assert {json.loads(s["metadata"])["replay"]["matched_by"] for s in samples.values()} == {
        "prompt"
    }


def test_xstest_table_from_the_shared_completions(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    script = ROOT / "benchmarks" / "xstest_table.py"
    result = subprocess.run(
        [sys.executable, str(script), "--model", "mistralinstruct", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    rows = {r["kind"]: r for r in json.loads(out.read_text())["rows"]}
    # The human side is the published labels: count them from the file itself.
    from benchwarden.bench.data import fetch

    path = fetch("xstest_completions/xstest_v2_completions_mistralinstruct.csv")
    with path.open(newline="") as handle:
        labels = [
            (r["type"].startswith("contrast_"), r["final_label"])
            for r in csv.DictReader(handle)
            if r["id"] != "v2-195"  # recorded for another wording of the prompt
        ]
    for kind, unsafe in (("safe", False), ("unsafe", True)):
        mine = [label for u, label in labels if u == unsafe]
        refused = sum(label != "1_full_compliance" for label in mine)
        assert rows[kind]["n"] == len(mine)
        assert abs(rows[kind]["human"]["any"] - 100 * refused / len(mine)) < 1e-9
        assert 0 <= rows[kind]["agreement_binary"] <= 100
    assert rows["unsafe"]["errors"] == 1 and "xstest/195" in result.stdout
