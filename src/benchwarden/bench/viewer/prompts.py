"""The prompt of a stored item: samples keep answers, not prompts, so the viewer asks
the suite (built-in or suite file) for its items once and keeps them."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from benchwarden.bench.suite import Item


@dataclass(frozen=True, slots=True)
class ItemText:
    prompt: str
    target: str
    must_refuse: bool  # a safety prompt: shown only on request


class Prompts:
    """Thread-safe cache of suite -> item id -> text. A suite that cannot be loaded
    (data not available, a suite file moved) just has no prompts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._suites: dict[str, dict[str, ItemText]] = {}
        self.problems: dict[str, str] = {}

    def get(self, suite: str, item_id: str) -> ItemText | None:
        return self._suite(suite).get(item_id)

    def _suite(self, name: str) -> dict[str, ItemText]:
        with self._lock:
            if name in self._suites:
                return self._suites[name]
            try:
                from benchwarden.bench.registry import get_suite

                items = {i.id: _text(i) for i in get_suite(name).load()}
            except Exception as exc:  # any failure: no prompts, say why on the page
                self.problems[name] = f"{type(exc).__name__}: {exc}"[:300]
                items = {}
            self._suites[name] = items
            return items


def _text(item: Item) -> ItemText:
    turns = item.metadata.get("turns")
    if isinstance(turns, list) and len(turns) > 1:  # a conversation: every user turn
        prompt = "\n\n".join(f"[turn {n}] {t}" for n, t in enumerate(turns, 1))
    elif item.messages:
        prompt = "\n\n".join(
            m.content if len(item.messages) == 1 else f"[{m.role}] {m.content}"
            for m in item.messages
        )
    else:
        prompt = item.prompt or ""
    raw = item.target
    if raw is None:
        target = ""
    elif isinstance(raw, list | tuple):
        target = " | ".join(map(str, raw))
    else:
        target = str(raw)
    return ItemText(prompt, target, item.metadata.get("expected") == "refuse")
