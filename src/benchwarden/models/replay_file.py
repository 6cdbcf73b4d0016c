"""Recorded answers read from a CSV or JSONL file, found by item id or by prompt.

A replay file holds answers made elsewhere (another harness, an earlier run, a
vendor's outputs), one row per answer: an answer column (``answer``, ``completion``,
``response`` or ``output``, the first present), and an id column (``id``,
``item_id`` or ``sample_id``) and/or a prompt column (``prompt``, ``input`` or
``question``). A row is found by the item's id first, then by the prompt (the last
user turn, or the raw prompt in completion mode) with whitespace collapsed. When a
row found by id also records a prompt, it must be the item's prompt: a file keyed
by another dataset's ids is an error, not a silent mismatch.

JSON ``null`` (or a missing key) is no answer; an empty string is an empty answer
(an empty prompt or id cell records no prompt or id).
Loading is strict (duplicate ids, unreadable rows); finding is pure.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ID_COLUMNS = ("id", "item_id", "sample_id")
PROMPT_COLUMNS = ("prompt", "input", "question")
ANSWER_COLUMNS = ("answer", "completion", "response", "output")
SUFFIXES = (".csv", ".jsonl")

MatchedBy = Literal["id", "prompt"]


class ReplayFileError(ValueError):
    """The file cannot serve answers at all; the message names the file and the line."""


class ReplayMiss(LookupError):
    """No usable answer for one item; the message says why and names the item."""


@dataclass(frozen=True, slots=True)
class Recorded:
    answer: str | None  # None: the row records no answer
    line: int  # 1-based line in the file (CSV: the header is line 1)
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    recorded: Recorded
    matched_by: MatchedBy


def normalize(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class ReplayFile:
    path: Path
    sha256: str
    answer_column: str
    rows: int
    by_id: Mapping[str, Recorded] = field(default_factory=dict)
    # A prompt recorded twice maps to every row that has it (ambiguous unless one).
    by_prompt: Mapping[str, tuple[Recorded, ...]] = field(default_factory=dict)

    def find(self, item_id: str | None, prompt: str | None) -> Found:
        """The row for this item, or ReplayMiss saying why there is none."""
        who = f"item {item_id!r}" if item_id is not None else "this prompt"
        found: Found | None = None
        if item_id is not None and item_id in self.by_id:
            found = Found(self.by_id[item_id], "id")
            recorded = found.recorded.prompt
            if (
                recorded is not None
                and prompt is not None
                and normalize(recorded) != normalize(prompt)
            ):
                raise ReplayMiss(
                    f"{who}: the row at line {found.recorded.line} of {self.path.name} has "
                    "this id but records another prompt (the file's ids belong to another "
                    "dataset?); remove its id column to match by prompt"
                )
        elif prompt is not None and self.by_prompt:
            rows = self.by_prompt.get(normalize(prompt), ())
            if len(rows) > 1:
                answers = {r.answer for r in rows}
                if len(answers) > 1:
                    lines = ", ".join(str(r.line) for r in rows)
                    raise ReplayMiss(
                        f"{who}: its prompt is recorded {len(rows)} times with different "
                        f"answers (lines {lines} of {self.path.name}); give each row an id"
                    )
            if rows:
                found = Found(rows[0], "prompt")
        if found is None:
            keys = [k for k, index in (("id", self.by_id), ("prompt", self.by_prompt)) if index]
            raise ReplayMiss(
                f"no recorded answer for {who} in {self.path.name} "
                f"(looked up by {' and '.join(keys)})"
            )
        if found.recorded.answer is None:
            raise ReplayMiss(
                f"{who}: the row at line {found.recorded.line} of {self.path.name} records "
                f"no {self.answer_column!r}"
            )
        return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            # The line the record starts on (a quoted field may span lines).
            yield reader.line_num, dict(row)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ReplayFileError(f"{path}: line {number}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ReplayFileError(f"{path}: line {number}: not a JSON object")
            yield number, row


def _text(value: object, column: str, path: Path, line: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ReplayFileError(f"{path}: line {line}: {column!r} must be text, not {value!r}")
    return str(value)


def _first(columns: set[str], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in columns), None)


def load_replay_file(path: Path) -> ReplayFile:
    """Read and index ``path`` (CSV or JSONL by suffix). Raises ReplayFileError."""
    if path.suffix.lower() not in SUFFIXES:
        raise ReplayFileError(f"{path}: a replay file is .csv or .jsonl")
    try:
        digest = _sha256(path)
        rows = list(_csv_rows(path) if path.suffix.lower() == ".csv" else _jsonl_rows(path))
    except OSError as exc:
        raise ReplayFileError(f"{path}: cannot read ({exc.strerror})") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ReplayFileError(f"{path}: cannot read as UTF-8 CSV/JSONL ({exc})") from exc
    columns: set[str] = set()
    for _, row in rows:
        columns.update(row)
    answer_col = _first(columns, ANSWER_COLUMNS)
    id_col, prompt_col = _first(columns, ID_COLUMNS), _first(columns, PROMPT_COLUMNS)
    if answer_col is None:
        raise ReplayFileError(
            f"{path}: no answer column (one of {', '.join(ANSWER_COLUMNS)}); "
            f"found {', '.join(sorted(columns)) or 'none'}"
        )
    if id_col is None and prompt_col is None:
        raise ReplayFileError(
            f"{path}: no id column ({', '.join(ID_COLUMNS)}) and no prompt column "
            f"({', '.join(PROMPT_COLUMNS)}): answers cannot be matched to items"
        )
    by_id: dict[str, Recorded] = {}
    by_prompt: dict[str, list[Recorded]] = {}
    for line, row in rows:
        # An empty prompt cell records no prompt (CSV cannot say "none" otherwise).
        prompt = (
            (_text(row.get(prompt_col), prompt_col, path, line) or None) if prompt_col else None
        )
        recorded = Recorded(_text(row.get(answer_col), answer_col, path, line), line, prompt)
        item_id = _text(row.get(id_col), id_col, path, line) if id_col else None
        if item_id:
            if item_id in by_id:
                raise ReplayFileError(
                    f"{path}: line {line}: id {item_id!r} again (first at line "
                    f"{by_id[item_id].line}); one answer per item"
                )
            by_id[item_id] = recorded
        if prompt:
            by_prompt.setdefault(normalize(prompt), []).append(recorded)
    return ReplayFile(
        path=path,
        sha256=digest,
        answer_column=answer_col,
        rows=len(rows),
        by_id=by_id,
        by_prompt={k: tuple(v) for k, v in by_prompt.items()},
    )
