"""Reading a suite's items file (JSONL or CSV) into :class:`Item` s, every mistake a
:class:`SuiteFileError` naming the file, the line and the field.

The formats are described in :mod:`benchwarden.bench.suite_files`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

from benchwarden.bench.suite import Item
from benchwarden.bench.suite_errors import SuiteFileError, located_error, type_name
from benchwarden.models.types import Message, Role

ITEM_SUFFIXES = (".jsonl", ".csv")
ROLES: tuple[str, ...] = get_args(Role)

_ITEM_FIELDS = ("id", "input", "target", "prompt", "stop", "metadata")
_CSV_COLUMNS = ("id", "input", "target", "prompt", "stop")


def read_items(path: Path, system: str | None) -> list[Item]:
    """Every item of a JSONL or CSV file (``system`` given to each); ids must be unique."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise located_error(
            path, None, None, f"cannot read the file ({exc})", "check the path"
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise located_error(
            path, line, None, f"not valid UTF-8 ({exc.reason})", "save the file as UTF-8"
        ) from exc

    csv_file = path.suffix.lower() == ".csv"
    rows = _csv_rows(path, text) if csv_file else _jsonl_rows(path, text)

    items: list[Item] = []
    first_line: dict[str, int] = {}
    for line, record in rows:
        item = _build_item(path, line, record, system)
        if item.id in first_line:
            raise located_error(
                path,
                line,
                "id",
                f"duplicate id {item.id!r} (lines {first_line[item.id]} and {line})",
                "give every item a unique id",
            )
        first_line[item.id] = line
        items.append(item)
    return items


def _jsonl_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise located_error(
                path,
                line,
                None,
                f"invalid JSON ({exc.msg} at column {exc.colno})",
                "write one JSON object per line",
            ) from exc
        if not isinstance(record, dict):
            raise located_error(
                path,
                line,
                None,
                f"expected a JSON object, got {type_name(record)}",
                'write one object per line, e.g. {"input": "...", "target": "..."}',
            )
        for key in record:
            if key not in _ITEM_FIELDS:
                raise located_error(
                    path,
                    line,
                    key,
                    f"unknown field '{key}'",
                    f"use {', '.join(_ITEM_FIELDS)} (put anything else under metadata)",
                )
        if "id" in record and isinstance(record["id"], int) and not isinstance(record["id"], bool):
            record["id"] = str(record["id"])
        rows.append((line, record))
    return rows


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return []
        columns = [c.strip() for c in header]
        seen: set[str] = set()
        for column in columns:
            if not column:
                raise located_error(
                    path, 1, None, "a column has no name", "name every header column"
                )
            if column in seen:
                raise located_error(
                    path, 1, column, f"column '{column}' appears twice", "keep only one"
                )
            seen.add(column)
        if "input" not in seen:
            raise located_error(
                path,
                1,
                "input",
                "the header row has no 'input' column",
                "the first row must name the columns, including input",
            )
        rows: list[tuple[int, dict[str, Any]]] = []
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                raise located_error(
                    path,
                    start,
                    None,
                    f"{len(row)} values but the header has {len(columns)} columns",
                    "quote values that contain commas",
                )
            cells = dict(zip(columns, row, strict=False))
            record: dict[str, Any] = {}
            metadata: dict[str, Any] = {}
            for column, cell in cells.items():
                if column in _CSV_COLUMNS:
                    if column == "input" or cell != "":
                        record[column] = cell
                else:
                    metadata[column] = cell
            if "stop" in record:
                record["stop"] = record["stop"].split("|")
            if metadata:
                record["metadata"] = metadata
            rows.append((start, record))
    except csv.Error as exc:
        raise located_error(
            path, reader.line_num, None, f"malformed CSV ({exc})", "check the quoting"
        ) from exc
    return rows


def _build_item(path: Path, line: int, record: dict[str, Any], system: str | None) -> Item:
    def fail(field: str, problem: str, fix: str) -> SuiteFileError:
        return located_error(path, line, field, problem, fix)

    item_id = record.get("id", str(line))
    if not isinstance(item_id, str) or not item_id.strip():
        raise fail("id", f"expected a non-empty string, got {item_id!r}", "give a string id")

    if "input" not in record:
        raise fail("input", "the required field 'input' is missing", "add the question as input")
    messages = _messages(record["input"], fail)

    prompt = record.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise fail("prompt", f"expected a string, got {type_name(prompt)}", "use raw text")

    target = record.get("target")
    if target is not None:
        if isinstance(target, list):
            if not target or not all(isinstance(t, str) for t in target):
                raise fail(
                    "target",
                    "expected a non-empty list of strings",
                    'write e.g. "Paris" or ["Paris", "paris"]',
                )
            target = list(target)
        elif not isinstance(target, str):
            raise fail(
                "target",
                f"expected a string or a list of strings, got {type_name(target)}",
                'write e.g. "Paris" or ["Paris", "paris"]',
            )

    stop = record.get("stop", [])
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise fail("stop", "expected a list of non-empty strings", 'write e.g. ["\\n"]')

    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        raise fail("metadata", f"expected an object, got {type_name(metadata)}", "use {...}")

    return Item(
        id=item_id,
        messages=messages,
        system=system,
        prompt=prompt,
        target=target,
        stop=tuple(stop),
        metadata=dict(metadata),
    )


def _messages(value: Any, fail: Callable[[str, str, str], SuiteFileError]) -> tuple[Message, ...]:
    fix = 'write a string, or a list like [{"role": "user", "content": "..."}]'
    if isinstance(value, str):
        if not value.strip():
            raise fail("input", "the input is empty", "write the question")
        return (Message("user", value),)
    if not isinstance(value, list) or not value:
        raise fail("input", f"expected a string or a list of messages, got {type_name(value)}", fix)
    messages: list[Message] = []
    for index, entry in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(entry, dict):
            raise fail(where, f"expected a message object, got {type_name(entry)}", fix)
        role = entry.get("role")
        if role not in ROLES:
            raise fail(
                f"{where}.role",
                f"invalid role {role!r}",
                f"use one of {', '.join(ROLES)}",
            )
        content = entry.get("content")
        if not isinstance(content, str):
            raise fail(f"{where}.content", f"expected a string, got {type_name(content)}", fix)
        messages.append(Message(role, content))
    return tuple(messages)
