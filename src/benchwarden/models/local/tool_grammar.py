"""GBNF grammars that hold an embedded model to one valid call of a declared tool.

A call is written ``{"name": "<tool>", "arguments": <arguments>}``. A function tool's
arguments follow its JSON schema, converted by llama-cpp-python's own converter
(``llama_cpp.llama_grammar.SchemaConverter``, the port of llama.cpp's
``json_schema_to_grammar``); a custom tool's input is one JSON string. Each tool is
converted on its own, its rules renamed under a prefix of its own (two tools may both
define ``$defs/Item``), and checked by llama.cpp's own parser: a schema the converter
cannot handle, or whose grammar llama.cpp rejects, falls back to "any JSON object"
for that tool only, and never fails the request.

``text`` is the alternative to a call: any answer whose first character is not ``{``,
so that the first character tells a call from prose.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchwarden.models.content import ToolSpec

# Any JSON object (the converter's own rules for ``{"type": "object"}``).
ANY_OBJECT: dict[str, Any] = {"type": "object"}
TEXT_RULE = "text ::= [^{] .*"
# The converter lets raw control characters into strings, which JSON forbids.
_LOOSE_CHAR = '[^"\\\\]'
_STRICT_CHAR = '[^"\\\\\\x7F\\x00-\\x1F]'
_IDENT = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")


@dataclass(frozen=True, slots=True)
class ToolRules:
    """One tool's argument rules: ``root`` is the rule an argument value must match."""

    name: str
    rules: str
    root: str
    fallback: bool  # the schema could not be used as is: any JSON object instead


def literal(text: str) -> str:
    """A GBNF string literal matching ``text`` exactly."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def rename_rules(grammar: str, prefix: str) -> str:
    """Every rule name in ``grammar``, defined or used, gets ``prefix``; literals and
    character classes are left alone."""
    out: list[str] = []
    i, n = 0, len(grammar)
    while i < n:
        c = grammar[i]
        if c in '"[':
            close = '"' if c == '"' else "]"
            j = i + 1
            while j < n and grammar[j] != close:
                j += 2 if grammar[j] == "\\" else 1
            out.append(grammar[i : j + 1])
            i = j + 1
        elif c == "#":  # a comment, to the end of the line
            j = grammar.find("\n", i)
            i = n if j < 0 else j
        elif (match := _IDENT.match(grammar, i)) is not None:
            out.append(prefix + match.group(0))
            i = match.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _convert(schema: dict[str, Any]) -> str:
    """The converter's grammar for ``schema`` (its start rule is ``root``)."""
    module: Any = importlib.import_module("llama_cpp.llama_grammar")
    converter = module.SchemaConverter(
        prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False
    )
    # The converter edits $ref values in place: give it a copy.
    resolved = converter.resolve_refs(json.loads(json.dumps(schema)), "tool")
    converter.visit(resolved, "")
    lines = []
    for line in str(converter.format_grammar()).splitlines():
        if line.startswith("char ::= "):
            line = line.replace(_LOOSE_CHAR, _STRICT_CHAR, 1)
        lines.append(line)
    return "\n".join(lines)


def _object_schema(schema: dict[str, Any]) -> bool:
    """Arguments are a JSON object: a schema that says otherwise is not used."""
    kind: object = schema.get("type")
    return kind is None or kind == "object" or kind == ["object"]


@functools.lru_cache(maxsize=256)
def _tool_rules(
    index: int, name: str, schema_json: str, custom: bool, accepts: Callable[[str], bool]
) -> ToolRules:
    prefix = f"t{index}-"
    if custom:
        rules = rename_rules(_convert({"type": "string"}), prefix)
        return ToolRules(name, rules, prefix + "root", False)
    schema = json.loads(schema_json)
    grammar: str | None = None
    if isinstance(schema, dict) and _object_schema(schema):
        try:
            grammar = _convert(schema)
        except Exception:  # the converter asserts and raises on what it cannot do
            grammar = None
        if grammar is not None and not accepts(grammar):
            grammar = None
    fallback = grammar is None
    if grammar is None:
        grammar = _convert(ANY_OBJECT)
    return ToolRules(name, rename_rules(grammar, prefix), prefix + "root", fallback)


def tool_rules(tools: Sequence[ToolSpec], accepts: Callable[[str], bool]) -> tuple[ToolRules, ...]:
    """Argument rules for each tool; ``accepts`` is llama.cpp's verdict on a grammar."""
    return tuple(
        _tool_rules(
            i,
            t.name,
            json.dumps(t.parameters or ANY_OBJECT),  # in order: properties come in order
            t.kind == "custom",
            accepts,
        )
        for i, t in enumerate(tools)
    )


def call_grammar(rules: Sequence[ToolRules], *, text: bool) -> str:
    """``root ::= call`` (or ``call | text``) over the tools in ``rules``."""
    head = '"{\\"name\\": \\""'
    alternatives = []
    lines = []
    for i, tool in enumerate(rules):
        opening = literal(json.dumps(tool.name, ensure_ascii=False)[1:] + ', "arguments": ')
        lines.append(f'call-{i} ::= {opening} {tool.root} "}}"')
        alternatives.append(f"call-{i}")
        lines.append(tool.rules)
    root = "root ::= call | text" if text else "root ::= call"
    call = f"call ::= {head} ({' | '.join(alternatives)})"
    return "\n".join([root, call, *lines, *([TEXT_RULE] if text else [])])


def text_grammar() -> str:
    return "root ::= text\n" + TEXT_RULE
