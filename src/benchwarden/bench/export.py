"""A run's samples out as JSONL, CSV or Parquet, one row per (model, suite, item, epoch)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any, BinaryIO, TextIO

from benchwarden.store import SampleRecord

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
