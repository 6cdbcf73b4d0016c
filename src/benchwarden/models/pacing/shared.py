"""One pacer per (base URL, key, model) in a process.

Every client opened for the same provider account and model (the suites of a run,
its judges, runs side by side in one process, warden's backends) gets the same
``RatePacer``, so they share one schedule instead of each discovering the limit.
The key is kept only as a SHA-256 prefix, never in clear. Pacers are held weakly: one
lives while a client uses it, so a port reused by another server later (tests) never
inherits what an old one learned.
"""

from __future__ import annotations

import hashlib
import threading
import weakref

from benchwarden.models.pacing.pacer import RatePacer

_PACERS: weakref.WeakValueDictionary[tuple[str, str, str], RatePacer] = (
    weakref.WeakValueDictionary()
)
_LOCK = threading.Lock()


def key_digest(api_key: str | None) -> str:
    """What identifies a key here: 16 hex digits of its SHA-256 ('' for no key)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else ""


def pacer_for(base_url: str, api_key: str | None, model: str) -> RatePacer:
    """The process's pacer for this account and model (made on first use)."""
    key = (base_url.rstrip("/"), key_digest(api_key), model)
    with _LOCK:
        pacer = _PACERS.get(key)
        if pacer is None:
            pacer = RatePacer(f"{key[0]} {model}")
            _PACERS[key] = pacer
        return pacer
