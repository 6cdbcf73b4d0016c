"""The abstain band end to end: answers the refusal classifier is unsure of go to the
refusal judge (a scripted OpenAI-compatible server on loopback), whose verdict becomes
the label and is recorded as the judge's; the report shows the share judged. Without a
judge the classifier's label stays, marked low-confidence."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchwarden.bench.refusal import load_default
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from tests.cli_process import run_cli as cli

SURE = "Sorry, I can't help with that request."
# An objection followed by help: the shipped classifier calls it compliance, unsure.
UNSURE = (
    "I must point out that this question is problematic. However, here is some general "
    "information about the topic."
)


def test_the_answers_are_what_the_test_needs() -> None:
    """If retraining moves these answers across the band, pick other texts."""
    classifier = load_default()
    assert classifier.calibration.abstain_below > 0.5
    sure = classifier.assess("q", SURE)
    unsure = classifier.assess("q", UNSURE)
    assert sure.label == "full_refusal" and not sure.uncertain
    assert unsure.label == "full_compliance" and unsure.uncertain


@pytest.fixture
def servers() -> Iterator[dict[str, MockUpstream]]:
    with (
        ThreadedMockUpstream(reply=SURE) as sure,
        ThreadedMockUpstream(reply=UNSURE) as unsure,
        ThreadedMockUpstream(reply="full_refusal\nIt objects and gives nothing.") as judge,
        ThreadedMockUpstream(reply="It is hard to say.") as mute,
    ):
        yield {"mock-sure": sure, "mock-unsure": unsure, "mock-judge": judge, "mock-mute": mute}


def _config(path: Path, servers: dict[str, MockUpstream]) -> Path:
    path.write_text(
        "".join(
            f'[models."{name}"]\nprovider = "openai"\nbase_url = "{mock.base_url}/v1"\n'
            f'model = "{name}"\npurposes = ["safety-evaluation"]\n\n'
            for name, mock in servers.items()
        )
    )
    return path


def _details(db: Path, run_id: str) -> dict[str, list[dict[str, Any]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT model, score_detail FROM samples WHERE run_id = ?", (run_id,)
        ).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for model, detail in rows:
        out.setdefault(model, []).append(json.loads(detail))
    return out


def _labelled_by(db: Path, run_id: str, out: Path) -> dict[str, list[str]]:
    """The report's "who labelled" table in the safety section, rows by model."""
    result = cli("report", run_id, "--db", str(db), "-o", str(out))
    assert result.returncode == 0, result.stderr + result.stdout
    html = re.sub(r"\s+", " ", out.read_text())
    assert "judged %" in html, "the safety section has no labelled-by table"
    body = html.split("judged %", 1)[1].split("</table>", 1)[0]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", body)]
    return {cells[0]: cells[1:] for cells in rows if cells}


def test_uncertain_answers_go_to_the_refusal_judge(
    tmp_path: Path, servers: dict[str, MockUpstream]
) -> None:
    config = _config(tmp_path / "models.toml", servers)
    db = tmp_path / "r.db"
    args = ["run", "-s", "safety", "-s", "over-refusal", "--limit", "3"]
    args += ["-m", "mock-sure", "-m", "mock-unsure", "--purpose", "safety-evaluation"]
    args += ["--config", str(config), "--db", str(db)]
    result = cli(*args, "--refusal-judge", "mock-judge", "--run-id", "band")
    assert result.returncode == 0, result.stderr + result.stdout
    # The refusal judge alone is asked about the uncertain answers only (6 of 12), for
    # the run's purpose.
    assert servers["mock-judge"].stats.requests == 6
    assert set(servers["mock-judge"].stats.purposes) == {"safety-evaluation"}

    details = _details(db, "band")
    assert len(details["mock-unsure"]) == len(details["mock-sure"]) == 6
    for d in details["mock-unsure"]:
        # The classifier abstained; the judge's verdict is the label, recorded as such.
        assert d["uncertain"] is True and d["labeler"] == "judge"
        assert d["judge_model"] == "mock-judge"
        assert d["label"] == "full_refusal" and d["refused"] is True
        assert d["classifier_label"] == "full_compliance"
        assert d["unsafe"] is False and "low_confidence" not in d
        assert 0 < d["confidence"] < load_default().calibration.abstain_below
    for d in details["mock-sure"]:
        assert d["uncertain"] is False and d["labeler"] == "classifier"
        assert d["label"] == "full_refusal" and "classifier_label" not in d
        assert "judges" not in d and "decider_verdict" not in d  # never asked
    for d in details["mock-unsure"]:
        assert d["judges"] == {} and d["decider_verdict"]["label"] == "full_refusal"
    # A judge asked about the uncertain answers alone is no --judge: its verdicts on a
    # subset would skew the agreement and per-judge rate tables, so they have none.
    compared = cli("compare", "band", "--db", str(db), "--format", "json")
    assert json.loads(compared.stdout)["safety"].get("judges", []) == []

    # Also a --judge: it labels every answer. Agreement tables compare it with the
    # classifier's own labels (12 pairs, 6 of which disagree), not with the labels the
    # judge itself decided.
    both = cli(
        *args,
        "--refusal-judge",
        "mock-judge",
        "--judge",
        "mock-judge",
        "--run-id",
        "both",
        "--no-cache",
    )
    assert both.returncode == 0, both.stderr + both.stdout
    assert servers["mock-judge"].stats.requests == 6 + 12
    for d in _details(db, "both")["mock-sure"]:
        assert d["judges"]["mock-judge"]["label"] == "full_refusal"  # judged all the same
    compared = cli("compare", "both", "--db", str(db), "--format", "json")
    (agreement,) = json.loads(compared.stdout)["safety"]["judges"]
    assert agreement["n"] == 12 and agreement["agreement"] == pytest.approx(0.5)

    # answers, uncertain %, judged %, low-confidence %, judge; a model the classifier
    # was sure of throughout has no row.
    table = _labelled_by(db, "band", tmp_path / "band.html")
    assert table == {"mock-unsure": ["6", "100.0", "100.0", "0.0", "mock-judge"]}


def test_without_a_judge_uncertain_labels_stay_low_confidence(
    tmp_path: Path, servers: dict[str, MockUpstream]
) -> None:
    config = _config(tmp_path / "models.toml", servers)
    db = tmp_path / "r.db"
    args = ["run", "-s", "over-refusal", "--limit", "3", "-m", "mock-unsure"]
    args += ["--purpose", "safety-evaluation", "--config", str(config), "--db", str(db)]
    assert cli(*args, "--run-id", "alone").returncode == 0
    # A judge that names no label decides nothing: the classifier's label stays, flagged.
    result = cli(*args, "--refusal-judge", "mock-mute", "--run-id", "mute")
    assert result.returncode == 0, result.stderr + result.stdout
    assert servers["mock-mute"].stats.requests == 3
    for run_id in ("alone", "mute"):
        details = _details(db, run_id)["mock-unsure"]
        assert len(details) == 3
        for d in details:
            assert d["labeler"] == "classifier" and d["low_confidence"] is True
            assert d["label"] == "full_compliance" and d["uncertain"] is True
        table = _labelled_by(db, run_id, tmp_path / f"{run_id}.html")
        assert table == {"mock-unsure": ["3", "100.0", "0.0", "100.0", "—"]}
