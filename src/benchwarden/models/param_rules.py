"""Which parameters a model accepts, and how much it should think.

OpenAI's reasoning models (o1, o3, o4, GPT-5) refuse ``max_tokens`` (they want
``max_completion_tokens``) and any ``temperature``/``top_p`` but the default, with a
400 whose body names the parameter::

    {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with
     this model. Use 'max_completion_tokens' instead.", "type": "invalid_request_error",
     "param": "max_tokens", "code": "unsupported_parameter"}}

The defaults come from the model's name and its config (``ReasoningSettings``); what an
upstream still refuses is learnt from that 400: the parameter is swapped or dropped,
the call is sent again once, and the transport's ``ParamRules`` remember it, so the
next call goes out right the first time. Everything here is pure but ``learn``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from benchwarden.models.errors import BadRequest, ModelError
from benchwarden.models.types import GenerateRequest

# o1, o1-mini, o3-pro, o4-mini, gpt-5, gpt-5.1-codex, ... (optionally behind "org/").
_REASONING_NAME = re.compile(r"(?:^|/)(?:o\d+(?:$|[-._])|gpt-5)", re.IGNORECASE)
_REFUSED = re.compile(r"Unsupported (?:parameter|value):\s*'([^']+)'", re.IGNORECASE)
_QUOTED = re.compile(r"'([A-Za-z_][A-Za-z0-9_.\[\]]*)'")

# An effort as a thinking budget (Anthropic), and a budget as an effort (OpenAI).
EFFORT_BUDGETS: dict[str, int] = {
    "minimal": 1024,
    "low": 1024,
    "medium": 4096,
    "high": 16384,
    "xhigh": 32000,
}
REASONING_DEFAULT_DROPS = ("temperature", "top_p")
# Parameters that only tune an answer: an upstream that refuses one is sent the call
# without it. Anything else refused (tools, messages, the answer cap) stays an error.
DROPPABLE = frozenset(
    {
        "temperature",
        "top_p",
        "seed",
        "stop",
        "n",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
        "reasoning_effort",
        "reasoning",
        "parallel_tool_calls",
        "stream_options",
        "store",
        "include",
    }
)
TOKEN_SWAP = {"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}
MAX_ADJUSTMENTS = 4  # per call: each one drops or swaps a different parameter


def looks_like_reasoning_model(upstream_model: str) -> bool:
    return bool(_REASONING_NAME.search(upstream_model))


def effort_for_budget(budget: int) -> str:
    """The OpenAI effort nearest to an Anthropic thinking budget."""
    if budget < 2048:
        return "low"
    return "medium" if budget < 8192 else "high"


def refused_param(error: ModelError) -> str | None:
    """The top-level parameter a 400 ``unsupported_parameter``/``unsupported_value``
    names, if it is one."""
    if not isinstance(error, BadRequest) or error.status != 400:
        return None
    unsupported = (error.code or "").startswith("unsupported") or "nsupported" in error.message
    if not unsupported:
        return None
    match = _REFUSED.search(error.message) or _QUOTED.search(error.message)
    if match is None:
        return None
    return match.group(1).split(".")[0].split("[")[0]


@dataclass(frozen=True, slots=True)
class ReasoningSettings:
    """A model's configured reasoning and parameter rules (None: the default)."""

    effort: str | None = None
    budget_tokens: int | None = None
    token_param: str | None = None
    unsupported_params: tuple[str, ...] | None = None


@dataclass(slots=True)
class ParamRules:
    """One transport's rules, as configured and as learnt from its upstream."""

    reasoning_model: bool
    token_param: str
    dropped: set[str] = field(default_factory=set)
    settings: ReasoningSettings = field(default_factory=ReasoningSettings)

    @classmethod
    def for_model(cls, upstream_model: str, settings: ReasoningSettings | None) -> ParamRules:
        settings = settings or ReasoningSettings()
        reasoning = looks_like_reasoning_model(upstream_model)
        default_cap = "max_completion_tokens" if reasoning else "max_tokens"
        drops = settings.unsupported_params
        if drops is None:
            drops = REASONING_DEFAULT_DROPS if reasoning else ()
        return cls(reasoning, settings.token_param or default_cap, set(drops), settings)

    def effort(self, request: GenerateRequest) -> str | None:
        """The OpenAI effort for this call: asked for, else configured."""
        asked = request.reasoning
        if asked is not None:
            if asked.effort is not None:
                return asked.effort
            if asked.budget_tokens is not None:
                return effort_for_budget(asked.budget_tokens) if self.reasoning_model else None
        if self.settings.effort is not None:
            return self.settings.effort
        if self.settings.budget_tokens is not None:
            return effort_for_budget(self.settings.budget_tokens)
        return None

    def thinking_budget(self, request: GenerateRequest) -> int | None:
        """The Anthropic thinking budget for this call (None: no thinking)."""
        asked = request.reasoning
        if asked is not None and (asked.budget_tokens is not None or asked.effort is not None):
            if asked.budget_tokens is not None:
                return asked.budget_tokens
            return EFFORT_BUDGETS.get(asked.effort or "")
        if self.settings.budget_tokens is not None:
            return self.settings.budget_tokens
        return EFFORT_BUDGETS.get(self.settings.effort or "")

    def shape(self, payload: dict[str, Any], *, cap: str | None = "max_tokens") -> dict[str, Any]:
        """``payload`` with the answer cap under its accepted name (``cap`` is the key
        it was built with; None leaves it) and without the refused parameters."""
        shaped = {k: v for k, v in payload.items() if k not in self.dropped}
        if cap is not None and cap in shaped and cap != self.token_param:
            shaped[self.token_param] = shaped.pop(cap)
        return shaped

    def adjust(self, error: ModelError, sent: dict[str, Any], notes: list[str]) -> bool:
        """Whether the call may go again after ``error`` (the change is noted), within
        ``MAX_ADJUSTMENTS`` changes per call."""
        if len(notes) >= MAX_ADJUSTMENTS:
            return False
        note = self.learn(error, sent)
        if note is None:
            return False
        notes.append(note)
        return True

    def learn(self, error: ModelError, sent: dict[str, Any]) -> str | None:
        """Adjust to a refusal of something in ``sent``; a note of the change, or None
        when the refusal is not about a parameter that can be swapped or dropped."""
        param = refused_param(error)
        if param is None or param not in sent:
            return None
        if param in TOKEN_SWAP and param == self.token_param:
            self.token_param = TOKEN_SWAP[param]
            return f"{param} -> {self.token_param}"
        if param in DROPPABLE and param not in self.dropped:
            self.dropped.add(param)
            return f"{param} dropped"
        return None
