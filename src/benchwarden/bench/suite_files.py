"""User-defined suites with no code: a YAML or TOML file pointing at a JSONL or CSV file.

.. code-block:: yaml

    name: capitals                  # required; [a-z0-9][a-z0-9._-]*
    description: Capital cities     # optional
    items: capitals.jsonl           # required; relative to this file; .jsonl or .csv
    scorer: includes                # exact | includes | regex; default exact
    max_tokens: 32                  # optional, default 256
    system: "Answer briefly."       # optional system prompt for every item
    version: "1"                    # optional

Items in JSONL, one object per line::

    {"id": "fr", "input": "What is the capital of France?", "target": "Paris",
     "prompt": "Q: What is the capital of France?\\nA:", "stop": ["\\n"], "metadata": {}}

``input`` is a string (one user turn) or a list of ``{"role", "content"}`` messages;
``target`` a string or a list of strings; ``id`` defaults to the line number. In CSV,
a header row names the columns ``id``, ``input`` (required), ``target``, ``prompt`` and
``stop`` (several separated by ``|``); any other column goes into the item's metadata.

Items are read and checked when the suite file is loaded, so every mistake surfaces at
once, as a :class:`SuiteFileError` naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, get_args

import yaml

from benchwarden.bench.scoring import SCORERS
from benchwarden.bench.suite import Item, Scorer, Suite
from benchwarden.models.types import Message, Role

SUITE_SUFFIXES = (".yaml", ".yml", ".toml")
ITEM_SUFFIXES = (".jsonl", ".csv")
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
ROLES: tuple[str, ...] = get_args(Role)

_FIELDS = ("name", "description", "items", "scorer", "max_tokens", "system", "version")
_ITEM_FIELDS = ("id", "input", "target", "prompt", "stop", "metadata")
_CSV_COLUMNS = ("id", "input", "target", "prompt", "stop")
_DEFAULT_MAX_TOKENS = 256


class SuiteFileError(ValueError):
    """A suite file or its items file is wrong; the message names file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.field = field


def _error(
    path: Path, line: int | None, field: str | None, problem: str, fix: str
) -> SuiteFileError:
    where = str(path)
    if line is not None:
        where += f", line {line}"
    if field is not None:
        where += f", field '{field}'"
    return SuiteFileError(f"{where}: {problem}; {fix}", path=path, line=line, field=field)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


# -- the suite file -----------------------------------------------------------------


class _Fields:
    """The suite file's top-level mapping, with the line of each key where known."""

    def __init__(self, path: Path, data: dict[str, Any], lines: dict[str, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def line(self, field: str) -> int:
        # A missing field is reported at the top of the document.
        return self.lines.get(field, 1)

    def fail(self, field: str, problem: str, fix: str) -> SuiteFileError:
        return _error(self.path, self.line(field), field, problem, fix)

    def string(self, field: str, *, required: bool = False) -> str | None:
        value = self.data.get(field)
        if value is None:
            if required:
                raise self.fail(
                    field, f"the required field '{field}' is missing", f"add `{field}: ...`"
                )
            return None
        if not isinstance(value, str):
            raise self.fail(field, f"expected a string, got {_type_name(value)}", "quote the value")
        return value


def _yaml_fields(path: Path, text: str) -> _Fields:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "syntax error"
        raise _error(path, line, None, f"invalid YAML: {problem}", "fix the YAML syntax") from exc
    except yaml.YAMLError as exc:
        raise _error(path, None, None, f"invalid YAML: {exc}", "fix the YAML syntax") from exc
    if data is None:
        raise _error(
            path, 1, "name", "the suite file is empty", "add at least `name:` and `items:`"
        )
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1 if node is not None else 1
        raise _error(
            path,
            line,
            None,
            f"expected a mapping of fields, got {_type_name(data)}",
            "write one `field: value` per line (name, items, scorer, ...)",
        )
    lines: dict[str, int] = {}
    for key_node, _ in node.value:
        key = key_node.value
        line = key_node.start_mark.line + 1
        if isinstance(key, str) and key in lines:
            raise _error(
                path,
                line,
                key,
                f"'{key}' is given twice (first on line {lines[key]})",
                "keep only one",
            )
        lines[str(key)] = line
    return _Fields(path, {str(k): v for k, v in data.items()}, lines)


_TOML_LINE = re.compile(r"\(at line (\d+)")
_TOML_KEY = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*=""")


def _toml_fields(path: Path, text: str) -> _Fields:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        problem = _TOML_LINE.split(str(exc))[0].strip()
        raise _error(path, line, None, f"invalid TOML: {problem}", "fix the TOML syntax") from exc
    # tomllib keeps no positions: find top-level keys (before any [table]) by scanning.
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.lstrip().startswith("["):
            break
        match = _TOML_KEY.match(raw)
        if match:
            key = next(g for g in match.groups() if g is not None)
            lines.setdefault(key, number)
    return _Fields(path, data, lines)


def load_suite_file(path: Path) -> Suite:
    """Read a YAML/TOML suite file and its items; raise :class:`SuiteFileError` if wrong."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUITE_SUFFIXES:
        raise _error(
            path,
            None,
            None,
            f"unsupported suite file type {path.suffix or '(none)'!r}",
            f"use a {' or '.join(SUITE_SUFFIXES)} file",
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise _error(path, None, None, "no such suite file", "check the path") from None
    except UnicodeDecodeError as exc:
        raise _error(
            path, None, None, f"not valid UTF-8 ({exc.reason})", "save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise _error(path, None, None, f"cannot read the file ({exc})", "check the path") from exc

    fields = _toml_fields(path, text) if suffix == ".toml" else _yaml_fields(path, text)

    for key in fields.data:
        if key not in _FIELDS:
            raise fields.fail(
                key, f"unknown field '{key}'", f"the known fields are {', '.join(_FIELDS)}"
            )

    name = fields.string("name", required=True)
    assert name is not None
    if not NAME_PATTERN.fullmatch(name):
        raise fields.fail(
            "name",
            f"invalid name {name!r}",
            "use lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    description = fields.string("description") or ""
    system = fields.string("system")

    scorer_name = fields.string("scorer") or "exact"
    if scorer_name not in SCORERS:
        raise fields.fail(
            "scorer",
            f"unknown scorer {scorer_name!r}",
            f"use one of {', '.join(sorted(SCORERS))}",
        )

    max_tokens = fields.data.get("max_tokens", _DEFAULT_MAX_TOKENS)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise fields.fail(
            "max_tokens",
            f"expected a positive whole number, got {max_tokens!r}",
            "set e.g. `max_tokens: 256`",
        )

    version = fields.data.get("version", "1")
    if isinstance(version, bool) or not isinstance(version, str | int):
        raise fields.fail(
            "version", f"expected a string, got {_type_name(version)}", 'quote it, e.g. "1"'
        )
    version = str(version)

    items_ref = fields.string("items", required=True)
    assert items_ref is not None
    items_path = path.parent / items_ref
    if items_path.suffix.lower() not in ITEM_SUFFIXES:
        raise fields.fail(
            "items",
            f"unsupported items file {items_ref!r}",
            "point `items` at a .jsonl or .csv file",
        )
    if not items_path.is_file():
        raise fields.fail(
            "items",
            f"the items file {items_path} does not exist",
            "create it, or fix the path (it is relative to the suite file)",
        )

    items = tuple(_read_items(items_path, system))
    if not items:
        raise fields.fail(
            "items",
            f"the items file {items_path} has no items",
            "add one item per line (JSONL) or per row after the header (CSV)",
        )

    # Every entry of SCORERS satisfies the Scorer protocol.
    chosen: Any = SCORERS[scorer_name]
    scorer: Scorer = chosen

    def load() -> Sequence[Item]:
        return items

    return Suite(
        name=name,
        description=description,
        load=load,
        scorer=scorer,
        version=version,
        max_tokens=max_tokens,
        source=str(path),
    )


# -- the items file -----------------------------------------------------------------


def _read_items(path: Path, system: str | None) -> list[Item]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _error(path, None, None, f"cannot read the file ({exc})", "check the path") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _error(
            path, line, None, f"not valid UTF-8 ({exc.reason})", "save the file as UTF-8"
        ) from exc

    csv_file = path.suffix.lower() == ".csv"
    rows = _csv_rows(path, text) if csv_file else _jsonl_rows(path, text)

    items: list[Item] = []
    first_line: dict[str, int] = {}
    for line, record in rows:
        item = _build_item(path, line, record, system)
        if item.id in first_line:
            raise _error(
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
            raise _error(
                path,
                line,
                None,
                f"invalid JSON ({exc.msg} at column {exc.colno})",
                "write one JSON object per line",
            ) from exc
        if not isinstance(record, dict):
            raise _error(
                path,
                line,
                None,
                f"expected a JSON object, got {_type_name(record)}",
                'write one object per line, e.g. {"input": "...", "target": "..."}',
            )
        for key in record:
            if key not in _ITEM_FIELDS:
                raise _error(
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
                raise _error(path, 1, None, "a column has no name", "name every header column")
            if column in seen:
                raise _error(path, 1, column, f"column '{column}' appears twice", "keep only one")
            seen.add(column)
        if "input" not in seen:
            raise _error(
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
                raise _error(
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
        raise _error(
            path, reader.line_num, None, f"malformed CSV ({exc})", "check the quoting"
        ) from exc
    return rows


def _build_item(path: Path, line: int, record: dict[str, Any], system: str | None) -> Item:
    def fail(field: str, problem: str, fix: str) -> SuiteFileError:
        return _error(path, line, field, problem, fix)

    item_id = record.get("id", str(line))
    if not isinstance(item_id, str) or not item_id.strip():
        raise fail("id", f"expected a non-empty string, got {item_id!r}", "give a string id")

    if "input" not in record:
        raise fail("input", "the required field 'input' is missing", "add the question as input")
    messages = _messages(record["input"], fail)

    prompt = record.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise fail("prompt", f"expected a string, got {_type_name(prompt)}", "use raw text")

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
                f"expected a string or a list of strings, got {_type_name(target)}",
                'write e.g. "Paris" or ["Paris", "paris"]',
            )

    stop = record.get("stop", [])
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise fail("stop", "expected a list of non-empty strings", 'write e.g. ["\\n"]')

    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        raise fail("metadata", f"expected an object, got {_type_name(metadata)}", "use {...}")

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
        raise fail(
            "input", f"expected a string or a list of messages, got {_type_name(value)}", fix
        )
    messages: list[Message] = []
    for index, entry in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(entry, dict):
            raise fail(where, f"expected a message object, got {_type_name(entry)}", fix)
        role = entry.get("role")
        if role not in ROLES:
            raise fail(
                f"{where}.role",
                f"invalid role {role!r}",
                f"use one of {', '.join(ROLES)}",
            )
        content = entry.get("content")
        if not isinstance(content, str):
            raise fail(f"{where}.content", f"expected a string, got {_type_name(content)}", fix)
        messages.append(Message(role, content))
    return tuple(messages)
