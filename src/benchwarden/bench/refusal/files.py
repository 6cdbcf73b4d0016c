"""Classifying a file of (prompt, response) rows: CSV or JSONL in, the same format out.

Every input row comes back unchanged, in order, with three fields added: ``label`` (one
of :data:`LABELS`), ``confidence`` (the label's calibrated probability, 4 decimals) and
``uncertain`` (true when the confidence is below the classifier's abstain band: check
that label, or have a judge decide it). Existing fields of those names are replaced.
The format follows the file extension: ``.csv``, or ``.jsonl``/``.ndjson`` (one JSON
object per line).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from benchwarden.bench.refusal.classifier import RefusalClassifier, load_default
from benchwarden.bench.refusal.strings import LABELS

Format = Literal["csv", "jsonl"]
REQUIRED: tuple[str, str] = ("prompt", "response")
ADDED: tuple[str, ...] = ("label", "confidence", "uncertain")
_EXTENSIONS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class RefusalFileError(Exception):
    """An input file cannot be classified (format, missing column, bad value), or written."""


@dataclass(frozen=True, slots=True)
class ClassifiedFile:
    """What :func:`classify_file` did."""

    rows: int
    output: Path
    format: Format
    counts: dict[str, int] = field(default_factory=dict)


def file_format(path: Path) -> Format:
    """``csv`` or ``jsonl``, from the extension."""
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(_EXTENSIONS))
        raise RefusalFileError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; use one of {known}"
        ) from None


def _text(path: Path, where: str, record: dict[str, Any], column: str) -> str:
    value = record.get(column)
    if value is None and column in record:
        return ""  # null in JSON: nothing was said
    if not isinstance(value, str):
        raise RefusalFileError(
            f"{path}, {where}: column {column!r} must be text, got {type(value).__name__}"
        )
    return value


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and rows of a CSV input, checked for ``prompt`` and ``response``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                found = ", ".join(header) if header else "none (the file is empty)"
                raise RefusalFileError(
                    f"{path}: missing required column {missing[0]!r} (columns found: {found})"
                )
            rows: list[dict[str, Any]] = []
            for record in reader:
                where = f"line {reader.line_num}"
                if None in record or any(v is None for v in record.values()):
                    raise RefusalFileError(
                        f"{path}, {where}: expected {len(header)} fields ({', '.join(header)})"
                    )
                rows.append(record)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RefusalFileError(f"cannot read {path}: {exc}") from exc
    return header, rows


def read_jsonl_rows(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The rows of a JSONL input (each must have ``prompt`` and ``response``)."""
    rows: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8-sig") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RefusalFileError(
                        f"{path}, line {lineno}: invalid JSON ({exc.msg})"
                    ) from exc
                if not isinstance(record, dict):
                    raise RefusalFileError(
                        f"{path}, line {lineno}: expected a JSON object, "
                        f"got {type(record).__name__}"
                    )
                for column in REQUIRED:
                    if column not in record:
                        raise RefusalFileError(
                            f"{path}, line {lineno}: missing required field {column!r}"
                        )
                    _text(path, f"line {lineno}", record, column)
                rows.append(record)
    except (OSError, UnicodeDecodeError) as exc:
        raise RefusalFileError(f"cannot read {path}: {exc}") from exc
    header = list(dict.fromkeys(k for r in rows for k in r))
    return header, rows


@contextmanager
def _atomic(path: Path) -> Iterator[IO[str]]:
    """Write to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def classify_file(
    input_path: Path, output_path: Path, classifier: RefusalClassifier | None = None
) -> ClassifiedFile:
    """Classify every row of ``input_path`` and write them, labeled, to ``output_path``."""
    in_format = file_format(input_path)
    out_format = _EXTENSIONS.get(output_path.suffix.lower(), in_format)
    if in_format == "csv":
        header, rows = read_csv_rows(input_path)
    else:
        header, rows = read_jsonl_rows(input_path)
    where = "line" if in_format == "jsonl" else "row"
    pairs = [
        (
            _text(input_path, f"{where} {i}", r, "prompt"),
            _text(input_path, f"{where} {i}", r, "response"),
        )
        for i, r in enumerate(rows, start=1)
    ]
    results = (classifier or load_default()).assess_batch(pairs)
    for record, verdict in zip(rows, results, strict=True):
        record["label"] = verdict.label
        record["confidence"] = round(verdict.confidence, 4)
        record["uncertain"] = verdict.uncertain
    try:
        with _atomic(output_path) as f:
            if out_format == "csv":
                columns = [c for c in header if c not in ADDED] + list(ADDED)
                writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
                writer.writeheader()
                for record in rows:
                    writer.writerow({c: _csv_value(record.get(c)) for c in columns})
            else:
                for record in rows:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise RefusalFileError(f"cannot write {output_path}: {exc}") from exc
    counts = Counter(verdict.label for verdict in results)
    return ClassifiedFile(
        rows=len(rows),
        output=output_path,
        format=out_format,
        counts={label: counts.get(label, 0) for label in LABELS},
    )


def _csv_value(value: Any) -> Any:
    """Nested JSON values (when writing JSONL input out as CSV) become JSON text."""
    if isinstance(value, dict | list | bool):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value
