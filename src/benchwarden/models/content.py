"""Provider-neutral content for agents: tools, tool calls and results, images, reasoning.

A ``Message`` (see ``types``) keeps its plain ``content`` text; when it carries more
than text, ``parts`` holds the blocks in order and is the truth. Tool results travel
in a user message (as Anthropic sends them); the OpenAI transports split them into
``tool`` messages or ``function_call_output`` items.

Everything is a frozen dataclass of JSON-ready values: a request can be hashed for the
cache, shipped to another process, and rendered into any of the three APIs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

ToolKind = Literal["function", "custom"]
ChoiceMode = Literal["auto", "none", "required", "tool"]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image, as base64 ``data`` with its ``media_type``, or by ``url``."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None

    def data_url(self) -> str:
        if self.url is not None:
            return self.url
        return f"data:{self.media_type or 'image/png'};base64,{self.data or ''}"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks for a tool. ``arguments`` is the JSON text as the model wrote it
    (a ``custom`` tool's input is free text, not JSON)."""

    id: str
    name: str
    arguments: str = "{}"
    kind: ToolKind = "function"

    def parsed(self) -> Any:
        """The arguments as JSON; ``{}`` for empty text. Raises ValueError if not JSON."""
        return json.loads(self.arguments) if self.arguments.strip() else {}


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What the tool returned for the call ``call_id``; ``is_error`` when it failed."""

    call_id: str
    content: str
    is_error: bool = False
    images: tuple[ImagePart, ...] = ()


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Thinking the model did. ``signature`` (Anthropic) or ``encrypted`` (OpenAI's
    ``encrypted_content``, Anthropic's redacted thinking) must travel back unchanged for
    a conversation to continue; ``provider`` says whose opaque data it is."""

    text: str = ""
    signature: str | None = None
    encrypted: str | None = None
    provider: str | None = None
    id: str | None = None


Part = TextPart | ImagePart | ToolCall | ToolResult | Reasoning


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call. ``parameters`` is a JSON schema (function tools);
    ``grammar`` is a custom tool's input format (e.g. Codex's Lark grammar), as sent."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    kind: ToolKind = "function"
    strict: bool | None = None
    grammar: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """``auto``, ``none``, ``required`` (some tool), or ``tool`` (the one named)."""

    mode: ChoiceMode = "auto"
    name: str | None = None
    parallel: bool | None = None


@dataclass(frozen=True, slots=True)
class ReasoningConfig:
    """How much to think: an OpenAI ``effort`` or an Anthropic ``budget_tokens``."""

    effort: str | None = None
    budget_tokens: int | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a streamed tool call. The first piece of a call carries its ``id``
    and ``name``; later pieces only ``arguments`` text, for the same ``index``."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    kind: ToolKind = "function"


def text_of(parts: tuple[Part, ...]) -> str:
    return "".join(p.text for p in parts if isinstance(p, TextPart))


def part_to_dict(part: Part) -> dict[str, Any]:
    """A JSON form for caches and provenance (``kind`` names the dataclass)."""
    data: dict[str, Any] = {"kind": type(part).__name__}
    for name in part.__slots__:
        value = getattr(part, name)
        if name == "images":
            value = [part_to_dict(image) for image in value]
        data[name] = value
    return data


def part_from_dict(data: dict[str, Any]) -> Part:
    kinds: dict[str, type[Part]] = {
        "TextPart": TextPart,
        "ImagePart": ImagePart,
        "ToolCall": ToolCall,
        "ToolResult": ToolResult,
        "Reasoning": Reasoning,
    }
    values = {k: v for k, v in data.items() if k != "kind"}
    if "images" in values:
        values["images"] = tuple(part_from_dict(i) for i in values["images"])
    return kinds[data["kind"]](**values)
