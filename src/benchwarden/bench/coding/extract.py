"""Turning a model's answer into a program. Pure.

Chat models answer in many shapes: a fenced block (often with prose around it),
bare code, or only a function body; base models continue the prompt. The rule: if
the answer's code defines the entry point, use it (with the prompt's imports);
otherwise treat it as the continuation of the prompt.
"""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def fenced_blocks(answer: str) -> list[tuple[str, str]]:
    """(language, code) for each fenced block, an unclosed last block included."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(answer)]


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def _longest_parsable_prefix(code: str) -> str:
    """Drop trailing lines (prose after code, a cut-off last line) until it parses."""
    lines = code.rstrip().splitlines()
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end])
        if _parses(candidate):
            return candidate
    return code


def _from_first_code_line(text: str) -> str:
    """Bare code after a line of prose: start at the first import/def/class/decorator."""
    match = re.search(r"^(?:from\s+\S+\s+import|import\s|def\s|class\s|@)", text, re.M)
    return text[match.start() :] if match else text


def extract_code(answer: str, entry_point: str) -> str:
    """The code in an answer: the fenced block defining ``entry_point`` if any, else the
    first python block, else the answer itself (trimmed to what parses)."""
    blocks = fenced_blocks(answer)
    python_blocks = [code for lang, code in blocks if lang in ("", "python", "py", "python3")]
    for code in python_blocks:
        if _defines(code, entry_point):
            return code
    if python_blocks:
        return python_blocks[0]
    if _defines(answer, entry_point):
        return _longest_parsable_prefix(_from_first_code_line(answer))
    return answer


def prompt_imports(prompt: str) -> str:
    """The import lines of a prompt (HumanEval prompts import typing helpers)."""
    lines = [
        line
        for line in prompt.splitlines()
        if re.match(r"^(?:from\s+\S+\s+import\s|import\s)", line)
    ]
    return "\n".join(lines)


def build_program(prompt: str, entry_point: str, answer: str) -> str:
    """A runnable program defining ``entry_point`` from a prompt and an answer."""
    code = extract_code(answer, entry_point)
    if _defines(code, entry_point):
        imports = prompt_imports(prompt)
        return f"{imports}\n{code}" if imports else code
    # A body (or a base model's continuation): it completes the prompt's signature.
    body = code if code.startswith((" ", "\t")) or not code.strip() else _indent(code)
    return prompt + body


def _indent(code: str) -> str:
    """A body that came back without its indentation (chat models sometimes strip it)."""
    return "\n".join(("    " + line) if line.strip() else line for line in code.splitlines())
