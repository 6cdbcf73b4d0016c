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
This module parses and checks the suite file; :mod:`suite_items` reads the items file
and :mod:`suite_errors` holds the error and its location.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchwarden.bench.scoring import SCORERS
from benchwarden.bench.suite import Item, Scorer, Suite
from benchwarden.bench.suite_errors import SuiteFileError, located_error, type_name
from benchwarden.bench.suite_items import ITEM_SUFFIXES, ROLES, read_items

__all__ = [
    "ITEM_SUFFIXES",
    "NAME_PATTERN",
    "ROLES",
    "SUITE_SUFFIXES",
    "SuiteFileError",
    "load_suite_file",
]

SUITE_SUFFIXES = (".yaml", ".yml", ".toml")
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")

_FIELDS = ("name", "description", "items", "scorer", "max_tokens", "system", "version")
_DEFAULT_MAX_TOKENS = 256


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
        return located_error(self.path, self.line(field), field, problem, fix)

    def string(self, field: str, *, required: bool = False) -> str | None:
        value = self.data.get(field)
        if value is None:
            if required:
                raise self.fail(
                    field, f"the required field '{field}' is missing", f"add `{field}: ...`"
                )
            return None
        if not isinstance(value, str):
            raise self.fail(field, f"expected a string, got {type_name(value)}", "quote the value")
        return value


def _yaml_fields(path: Path, text: str) -> _Fields:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "syntax error"
        raise located_error(
            path, line, None, f"invalid YAML: {problem}", "fix the YAML syntax"
        ) from exc
    except yaml.YAMLError as exc:
        raise located_error(
            path, None, None, f"invalid YAML: {exc}", "fix the YAML syntax"
        ) from exc
    if data is None:
        raise located_error(
            path, 1, "name", "the suite file is empty", "add at least `name:` and `items:`"
        )
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1 if node is not None else 1
        raise located_error(
            path,
            line,
            None,
            f"expected a mapping of fields, got {type_name(data)}",
            "write one `field: value` per line (name, items, scorer, ...)",
        )
    lines: dict[str, int] = {}
    for key_node, _ in node.value:
        key = key_node.value
        line = key_node.start_mark.line + 1
        if isinstance(key, str) and key in lines:
            raise located_error(
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
        raise located_error(
            path, line, None, f"invalid TOML: {problem}", "fix the TOML syntax"
        ) from exc
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
        raise located_error(
            path,
            None,
            None,
            f"unsupported suite file type {path.suffix or '(none)'!r}",
            f"use a {' or '.join(SUITE_SUFFIXES)} file",
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise located_error(path, None, None, "no such suite file", "check the path") from None
    except UnicodeDecodeError as exc:
        raise located_error(
            path, None, None, f"not valid UTF-8 ({exc.reason})", "save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise located_error(
            path, None, None, f"cannot read the file ({exc})", "check the path"
        ) from exc

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
            "version", f"expected a string, got {type_name(version)}", 'quote it, e.g. "1"'
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

    items = tuple(read_items(items_path, system))
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
