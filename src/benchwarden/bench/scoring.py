"""Deterministic scorers: pure functions from (item, answer) to a Score."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from benchwarden.bench.suite import Item, Score, Scorer

_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower case, accents folded, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _PUNCT.sub(" ", text.lower())
    return _SPACE.sub(" ", text).strip()


def _targets(item: Item) -> list[str]:
    target = item.target
    if target is None:
        raise ValueError(f"item {item.id!r} has no target to score against")
    if isinstance(target, list | tuple):
        return [str(t) for t in target]
    return [str(target)]


@dataclass(frozen=True, slots=True)
class ExactMatch:
    """The normalized answer equals one of the normalized targets."""

    name: str = "exact"

    def __call__(self, item: Item, answer: str) -> Score:
        got = normalize(answer)
        ok = any(got == normalize(t) for t in _targets(item))
        return Score(1.0 if ok else 0.0, ok, {"normalized": got[:200]})


@dataclass(frozen=True, slots=True)
class Includes:
    """One of the targets appears in the answer as whole words (normalized)."""

    name: str = "includes"

    def __call__(self, item: Item, answer: str) -> Score:
        got = f" {normalize(answer)} "
        for target in _targets(item):
            if f" {normalize(target)} " in got:
                return Score(1.0, True, {"matched": target})
        return Score(0.0, False, {})


@dataclass(frozen=True, slots=True)
class RegexMatch:
    """The target is a regular expression searched in the raw answer."""

    name: str = "regex"

    def __call__(self, item: Item, answer: str) -> Score:
        for target in _targets(item):
            if re.search(target, answer, flags=re.IGNORECASE | re.MULTILINE):
                return Score(1.0, True, {"pattern": target})
        return Score(0.0, False, {})


SCORERS: dict[str, Scorer] = {
    "exact": ExactMatch(),
    "includes": Includes(),
    "regex": RegexMatch(),
}
