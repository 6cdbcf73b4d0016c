"""Whether an embedded model answers a tool request with a call or with text.

``tool_choice`` decides when it can: ``required`` and a named tool always get a call
(of that tool), ``none`` always text. ``auto`` is left to the model only where a model
of 135M parameters decides well; seen on SmolLM2, it answers the user's first question
in prose even when a declared tool fits it exactly, and calls the tool again once it
has the result. So ``auto`` follows the conversation instead:

- the last turn brings tool results: answer from them, in text (one round of tool
  calls per user turn);
- the user's last words name what a tool is for (a word of its name, or two words of
  its description and parameters, after dropping common words and crude stemming):
  a call, among those tools;
- otherwise the model chooses, under a grammar whose only sentences are one valid call
  or a text that does not start with ``{``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from benchwarden.models.content import TextPart, ToolResult, ToolSpec
from benchwarden.models.types import GenerateRequest, Message


class Branch(enum.StrEnum):
    CALL = "call"  # exactly one call of one of ``ToolPlan.tools``
    TEXT = "text"  # prose only
    EITHER = "either"  # the model chooses: a call or prose


@dataclass(frozen=True, slots=True)
class ToolPlan:
    branch: Branch
    tools: tuple[ToolSpec, ...]  # the tools a call may name
    reason: str  # for provenance: why this branch


class ToolChoiceError(ValueError):
    """The request's tool choice cannot be honored (no such tool, no tools at all)."""


_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_COMMON_WORDS = """a an the is are was were be been being am to of in on at for and or nor not no
    with by from as it its this that these those there here what which who whom whose
    how when where why do does did done can could would should will shall may might
    must i me my mine you your yours we us our they them their he she his her him
    please tell give show get set current use using used tool tools function functions
    call calls now right some any all about into onto over under than then so if else
    just also very much many more most other such only own same too out up down off
    one two new like make made want need know let say said see look find given return
    returns value values input output result results string number object type true
    false null default optional required"""
_COMMON = frozenset(_COMMON_WORDS.split())
NAME_WEIGHT = 2
RELEVANT = 2  # the score from which a tool counts as asked for


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def words(text: str) -> set[str]:
    """Content words of ``text``: split on case and punctuation, common words dropped."""
    found = (w.lower() for w in _WORD.findall(text))
    return {_stem(w) for w in found if len(w) >= 3 and w not in _COMMON}


def _schema_words(schema: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            found |= words(str(name))
            if isinstance(sub, dict) and isinstance(sub.get("description"), str):
                found |= words(sub["description"])
    return found


def relevance(tool: ToolSpec, text: str) -> int:
    """How plainly ``text`` asks for ``tool``: shared name words count double."""
    asked = words(text)
    name = words(tool.name)
    rest = (words(tool.description) | _schema_words(tool.parameters)) - name
    return NAME_WEIGHT * len(asked & name) + len(asked & rest)


def message_text(message: Message) -> str:
    if message.parts:
        return "\n".join(p.text for p in message.parts if isinstance(p, TextPart))
    return message.content


def brings_results(message: Message) -> bool:
    return any(isinstance(p, ToolResult) for p in message.parts)


def plan_tools(request: GenerateRequest) -> ToolPlan:
    """The branch for ``request`` (which declares tools or carries tool parts)."""
    tools = request.tools
    choice = request.tool_choice
    mode = choice.mode if choice is not None else "auto"
    if mode == "none" or not tools:
        if mode in ("required", "tool"):
            raise ToolChoiceError(f"tool_choice {mode!r} needs tools, and none are declared")
        return ToolPlan(Branch.TEXT, (), "tool_choice none" if tools else "no tools declared")
    if mode == "tool":
        named = [t for t in tools if choice is not None and t.name == choice.name]
        if not named:
            declared = ", ".join(t.name for t in tools)
            raise ToolChoiceError(
                f"tool_choice names {choice.name if choice else None!r}, "
                f"which is not among the declared tools ({declared})"
            )
        return ToolPlan(Branch.CALL, (named[0],), f"tool_choice {named[0].name}")
    if mode == "required":
        return ToolPlan(Branch.CALL, tools, "tool_choice required")
    last = request.messages[-1] if request.messages else None
    if last is not None and brings_results(last):
        return ToolPlan(Branch.TEXT, (), "auto: answering from tool results")
    asked = message_text(last) if last is not None and last.role == "user" else ""
    if request.prompt is not None and not request.messages:
        asked = request.prompt
    scores = [relevance(t, asked) for t in tools]
    fitting = tuple(t for t, s in zip(tools, scores, strict=True) if s >= RELEVANT)
    if fitting:
        return ToolPlan(
            Branch.CALL, fitting, "auto: asked for " + ", ".join(t.name for t in fitting)
        )
    return ToolPlan(Branch.EITHER, tools, "auto: the model's choice")
