"""Reading what was admitted from the audit chain, window by window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from benchwarden.store.warden_store import open_warden_store
from benchwarden.warden.tenancy import Tenancy


def org_rows(db: str, org: str) -> list[Any]:
    store = open_warden_store(db)
    try:
        return [r for r in Tenancy(store, "test").audit_tail(100_000) if r.org == org]
    finally:
        store.close()


def most_in_any_window(points: list[tuple[Any, int]], window_s: float = 60.0) -> int:
    """The largest sum of weights whose times fall in one window of ``window_s``."""
    points = sorted(points, key=lambda p: p[0])
    best = 0
    for i, (start, _weight) in enumerate(points):
        end = start + timedelta(seconds=window_s)
        best = max(best, sum(w for t, w in points[i:] if t < end))
    return best


def admitted_per_window(rows: list[Any], action: str = "chat.completions") -> int:
    return most_in_any_window(
        [(r.ts, 1) for r in rows if r.action == action and r.decision == "allow"]
    )


def tokens_per_window(rows: list[Any], action: str = "chat.completions") -> int:
    settled = [r for r in rows if r.action == f"{action}.settle"]
    return most_in_any_window([(r.ts, r.input_tokens + r.output_tokens) for r in settled])
