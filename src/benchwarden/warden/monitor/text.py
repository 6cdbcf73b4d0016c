"""Pure: what the monitor reads from a request, before anything is kept.

A prompt is masked (numbers, quoted strings, URLs, e-mail addresses, capitalised names
become slot markers) so that prompts made from one template with different fills look
alike, then cut into word shingles for MinHash. Probing parameters and requests for
reasoning traces are read from the raw JSON body, since warden refuses some of them
(``logprobs``, ``n > 1``) before they become a call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from benchwarden.models.types import GenerateRequest

MAX_TEXT_CHARS = 20_000  # what is read of a prompt for its sketch
MAX_SHINGLES = 2_000

_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+|\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
# Short quoted strings are slots; a long quoted passage is content, and triple quotes
# (docstrings) are not quotes at all.
_QUOTED = re.compile(
    r"(?<![\"\w])\"(?!\")[^\"\n]{1,40}\"(?!\")|“[^”\n]{1,40}”|(?<!\w)'[^'\n]{1,40}'(?!\w)"
)
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*")
# A capitalised word that does not open a sentence or a line: a name, most often.
_NAME = re.compile(r"([a-z,;:)]\s+)[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
# Scripts written without spaces (Chinese, Japanese, Korean) count one token a character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"<[a-z]+>|[{_CJK}]|[^\W{_CJK}]+")

_REASONING_TEXT = re.compile(
    r"step[- ]by[- ]step|chain[- ]of[- ]thought|show (?:your|all (?:of )?your|the) "
    r"(?:work|reasoning|thinking)|explain your reasoning|reasoning trace|think (?:aloud|out loud)"
    r"|<think>|your (?:full|complete) reasoning",
    re.IGNORECASE,
)
# Body fields that ask for a reasoning trace (OpenAI, Anthropic, vLLM-style servers).
_REASONING_PARAMS = ("reasoning_effort", "reasoning", "include_reasoning", "thinking")


def mask(text: str) -> str:
    """Variable slots replaced by markers, lower-cased, whitespace collapsed."""
    text = text[:MAX_TEXT_CHARS]
    text = _URL.sub(" <url> ", text)
    text = _QUOTED.sub(" <str> ", text)
    text = _NAME.sub(r"\1<name>", text)
    text = _NUMBER.sub(" <num> ", text)
    return " ".join(text.lower().split())


def shingles(masked: str, width: int = 2) -> list[str]:
    """Overlapping word ``width``-grams (the whole text when shorter), at most MAX_SHINGLES."""
    tokens = _TOKEN.findall(masked)
    if len(tokens) <= width:
        return [" ".join(tokens)] if tokens else []
    grams = {" ".join(tokens[i : i + width]) for i in range(len(tokens) - width + 1)}
    return sorted(grams)[:MAX_SHINGLES] if len(grams) > MAX_SHINGLES else list(grams)


def prompt_text(request: GenerateRequest) -> str:
    """Everything the caller wrote: system, the messages' contents, a completion prompt."""
    parts = [request.system or ""]
    parts.extend(m.content for m in request.messages)
    if request.prompt:
        parts.append(request.prompt)
    return "\n".join(p for p in parts if p)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 1


def probe_flags(data: Mapping[str, Any] | None, text: str = "") -> list[str]:
    """Names of the probing and reasoning features a request asks for (sorted)."""
    flags: set[str] = set()
    if data:
        if data.get("logprobs") not in (None, False, 0):
            flags.add("logprobs")
        if data.get("top_logprobs") not in (None, 0):
            flags.add("top_logprobs")
        if isinstance(data.get("logit_bias"), dict) and data["logit_bias"]:
            flags.add("logit_bias")
        if _positive(data.get("n")):
            flags.add("n")
        if _positive(data.get("best_of")):
            flags.add("best_of")
        if data.get("echo") is True:
            flags.add("echo")
        for name in _REASONING_PARAMS:
            value = data.get(name)
            if value in (None, False, "none", "disabled"):
                continue
            if isinstance(value, dict) and value.get("type") == "disabled":
                continue
            flags.add("reasoning_param")
    if text and _REASONING_TEXT.search(text[:MAX_TEXT_CHARS]):
        flags.add("reasoning_text")
    return sorted(flags)


PROBING = frozenset({"logprobs", "top_logprobs", "logit_bias", "n", "best_of", "echo"})
REASONING = frozenset({"reasoning_param", "reasoning_text"})
