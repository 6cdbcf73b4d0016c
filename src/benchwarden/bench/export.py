"""A run's samples out as JSONL, CSV or Parquet, one row per (model, suite, item, epoch);
its writing judgments likewise, one row per judge call (:func:`write_judgments`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, BinaryIO, TextIO

from benchwarden.store import JudgmentRecord, SampleRecord

FORMATS = ("jsonl", "csv", "parquet")
CSV_COLUMNS = [
    "run_id",
    "model",
    "suite",
    "item_id",
    "epoch",
    "status",
    "score",
    "passed",
    "answer",
    "answer_sha256",
    "error_kind",
    "error_message",
    "input_tokens",
    "output_tokens",
    "latency_s",
    "cost",
    "endpoint",
    "purpose",
    "mode",
    "finish_reason",
    "cached",
    "started_at",
    "finished_at",
    "params",
    "score_detail",
    "metadata",
]


def sample_row(sample: SampleRecord) -> dict[str, Any]:
    row = asdict(sample)
    for key, value in row.items():
        if isinstance(value, datetime):
            row[key] = value.isoformat()
    return row


def write_jsonl(samples: Iterable[SampleRecord], out: TextIO) -> int:
    count = 0
    for sample in samples:
        out.write(json.dumps(sample_row(sample), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(samples: Iterable[SampleRecord], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for sample in samples:
        row = sample_row(sample)
        for key in ("params", "score_detail", "metadata"):
            row[key] = json.dumps(row[key], ensure_ascii=False, sort_keys=True)
        writer.writerow(row)
        count += 1
    return count


def write_parquet(samples: Iterable[SampleRecord], out: BinaryIO) -> int:
    """Columns as in the CSV; the JSON fields as JSON text (their keys differ from row
    to row, which Parquet's fixed structs cannot hold)."""
    from benchwarden.bench.frames import samples_to_frame

    frame = samples_to_frame(list(samples))
    for key in ("params", "score_detail", "metadata"):
        frame[key] = [json.dumps(v, ensure_ascii=False, sort_keys=True) for v in frame[key]]
    frame.to_parquet(out, index=False, engine="pyarrow")
    return len(frame)


JUDGMENT_COLUMNS = ["run_id", *(f.name for f in fields(JudgmentRecord) if f.name != "run_id")]


def judgment_row(judgment: JudgmentRecord) -> dict[str, Any]:
    row = asdict(judgment)
    if isinstance(row["created_at"], datetime):
        row["created_at"] = row["created_at"].isoformat()
    return row


def write_judgments(judgments: Iterable[JudgmentRecord], format: str, out: Any) -> int:
    """Judgments as ``format`` (jsonl/csv to a text stream, parquet to a binary one);
    the columns of :data:`JUDGMENT_COLUMNS` (verdicts, reply excerpts, prompt
    versions, the sha256 of each judged answer)."""
    rows = [judgment_row(j) for j in judgments]
    if format == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif format == "csv":
        writer = csv.DictWriter(out, fieldnames=JUDGMENT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    elif format == "parquet":
        from benchwarden.bench.frames import judgments_to_frame

        judgments_to_frame(rows).to_parquet(out, index=False, engine="pyarrow")
    else:
        raise ValueError(f"export format {format!r}: use one of {', '.join(FORMATS)}")
    return len(rows)
