"""One pacer per (base URL, key, model) in a process.

Every client opened for the same provider account and model (the suites of a run,
its judges, runs side by side in one process, warden's backends) gets the same
``RatePacer``, so they share one schedule instead of each discovering the limit.
The key is kept only as a SHA-256 prefix, never in clear. Pacers are held weakly: one
lives while a client uses it, so a port reused by another server later (tests) never
inherits what an old one learned.

Where the schedule's state lives can be changed for the whole process
(``use_source``): on a Ray worker, bench's cluster executor makes every pacer a
handle on one budget per model held for the whole cluster. The pacing decisions are
the same ``RatePacer`` code either way; only the holder of its state differs.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable

from benchwarden.models.pacing.pacer import RatePacer

PacerKey = tuple[str, str, str]
"""(base URL without a trailing slash, key digest, model)."""
PacerSource = Callable[[PacerKey, str], RatePacer]
"""Makes the pacer of a key (and its label) when the process has none yet."""

_PACERS: weakref.WeakValueDictionary[PacerKey, RatePacer] = weakref.WeakValueDictionary()
_LOCK = threading.Lock()
_SOURCE: PacerSource | None = None


def key_digest(api_key: str | None) -> str:
    """What identifies a key here: 16 hex digits of its SHA-256 ('' for no key)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else ""


def use_source(source: PacerSource | None) -> None:
    """Make this process's pacers with ``source`` from now on (None: in process, the
    default). Pacers already made are kept by their clients."""
    global _SOURCE
    with _LOCK:
        _SOURCE = source
        _PACERS.clear()


def pacer_for(base_url: str, api_key: str | None, model: str) -> RatePacer:
    """The process's pacer for this account and model (made on first use)."""
    key = (base_url.rstrip("/"), key_digest(api_key), model)
    with _LOCK:
        pacer = _PACERS.get(key)
        if pacer is None:
            label = f"{key[0]} {model}"
            pacer = _SOURCE(key, label) if _SOURCE is not None else RatePacer(label)
            _PACERS[key] = pacer
        return pacer
