"""``benchwarden refusal classify`` on small made-up files (benign rows only)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from benchwarden.bench.refusal import load_default
from benchwarden.bench.refusal.files import RefusalFileError, classify_file
from benchwarden.bench.refusal.strings import LABELS
from benchwarden.cli.refusal_cmd import refusal_app

app = typer.Typer()
app.add_typer(refusal_app, name="refusal")
runner = CliRunner()

ROWS = [
    {"id": "a", "prompt": "Can you help me?", "response": "I'm sorry, but I can't help with that."},
    {
        "id": "b",
        "prompt": "How do I boil an egg?",
        "response": "Sure! Put the egg in boiling water for nine minutes, then cool it in cold "
        "water and peel it.",
    },
    {"id": "c", "prompt": "Say something.", "response": ""},
]


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["refusal", "classify", *args])
    return result.exit_code, " ".join(result.output.split())  # undo Rich's line wrapping


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_csv(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", ROWS)
    out = tmp_path / "out" / "labeled.csv"
    code, output = invoke(str(src), "-o", str(out))
    assert code == 0, output
    assert "classified 3 rows" in output
    with out.open(newline="", encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    header = ["id", "prompt", "response", "label", "confidence", "uncertain"]
    assert [list(r) for r in got] == [header] * 3
    assert [r["id"] for r in got] == ["a", "b", "c"]
    assert [r["response"] for r in got] == [r["response"] for r in ROWS]
    assert [r["label"] for r in got] == ["full_refusal", "full_compliance", "full_refusal"]
    assert all(0.0 < float(r["confidence"]) <= 1.0 for r in got)
    band = load_default().calibration.abstain_below
    assert [r["uncertain"] for r in got] == [json.dumps(float(r["confidence"]) < band) for r in got]


def test_jsonl(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    extra = [{**r, "meta": {"n": i}} for i, r in enumerate(ROWS)]
    src.write_text("\n".join(json.dumps(r) for r in extra) + "\n\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, output = invoke(str(src), "--output", str(out))
    assert code == 0, output
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(got) == 3
    for before, after in zip(extra, got, strict=True):
        assert {k: after[k] for k in before} == before
        assert after["label"] in LABELS
        assert isinstance(after["confidence"], float)
        assert isinstance(after["uncertain"], bool)
    assert got[0]["label"] == "full_refusal" and got[1]["label"] == "full_compliance"


def test_jsonl_to_csv_and_relabel(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({**ROWS[1], "label": "stale", "meta": [1]}) + "\n")
    out = tmp_path / "out.csv"
    result = classify_file(src, out)
    assert result.format == "csv" and result.rows == 1
    row = next(csv.DictReader(out.open(newline="")))
    assert row["label"] == "full_compliance" and row["meta"] == "[1]"


def test_missing_csv_column(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", [{"prompt": "p", "answer": "a"}])
    code, output = invoke(str(src), "-o", str(tmp_path / "out.csv"))
    assert code == 1
    assert "in.csv" in output and "'response'" in output and "answer" in output
    assert not (tmp_path / "out.csv").exists()


def test_missing_jsonl_field_names_the_line(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({"prompt": "p"}) + "\n")
    code, output = invoke(str(src), "-o", str(tmp_path / "out.jsonl"))
    assert code == 1
    assert "in.jsonl, line 2" in output and "'response'" in output


def test_other_input_errors(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"prompt": "p", "response": 3}\n')
    code, output = invoke(str(bad_json), "-o", str(tmp_path / "o.jsonl"))
    assert code == 1 and "must be text" in output

    not_json = tmp_path / "broken.jsonl"
    not_json.write_text("{not json\n")
    code, output = invoke(str(not_json), "-o", str(tmp_path / "o.jsonl"))
    assert code == 1 and "invalid JSON" in output

    txt = tmp_path / "in.txt"
    txt.write_text("prompt,response\n")
    code, output = invoke(str(txt), "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "extension" in output

    code, output = invoke(str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "no such input file" in output

    src = write_csv(tmp_path / "same.csv", ROWS)
    code, output = invoke(str(src), "-o", str(src))
    assert code == 1 and "must not overwrite" in output

    short = tmp_path / "short.csv"
    short.write_text("prompt,response\nonly one field\n")
    try:
        classify_file(short, tmp_path / "o.csv")
    except RefusalFileError as exc:
        assert "line 2" in str(exc)
    else:
        raise AssertionError("a short row must be an error")
