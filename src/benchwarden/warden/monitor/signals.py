"""Pure: usage signals of one organization over one window of usage records.

Each signal has a raw ``value`` (what was measured), a ``strength`` from 0 to 1 (how far
it points at use outside the declared purpose) and a small ``detail`` (counts, example
prompt hashes). A signal without enough data to say anything has strength 0 and says
so in its detail. Thresholds live in ``SignalConfig`` so an operator can tune them.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from benchwarden.store.monitor_store import UsageRow
from benchwarden.warden.monitor.sketch import NearIndex, from_bytes
from benchwarden.warden.monitor.text import PROBING, REASONING

LIMIT_CODES = frozenset({"rate_limited", "token_limit"})
SERVED = frozenset({"completed", "cut", "ended"})
EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class SignalConfig:
    min_requests: int = 20  # below this, no signal says anything
    flat_cv_high: float = 0.6  # hourly counts' CV at which "flat" has no strength
    flat_cv_low: float = 0.15  # ... and full strength
    pinned_share: float = 0.9  # a minute at >= 90% of the grant's RPM is "at the limit"
    ratio_low: float = 2.0  # output/input ratio with no strength ...
    ratio_high: float = 8.0  # ... and full strength
    saturated_share: float = 0.95  # output >= 95% of max_tokens is "saturated"
    saturation_low: float = 0.15
    saturation_high: float = 0.6
    near: float = 0.6  # estimated Jaccard for "the same template"
    unique_low: float = 0.5
    unique_high: float = 0.9
    unique_volume: int = 100  # distinct novel prompts for full strength
    regular_cv_high: float = 0.6  # inter-arrival CV with no strength ...
    regular_cv_low: float = 0.15  # ... and full strength
    idle_gap_s: float = 1800.0  # gaps longer than this are pauses, not arrivals
    agent_share_low: float = 0.2  # share of requests that are coding-agent turns ...
    agent_share_high: float = 0.7  # ... with no strength, and with full strength
    session_hours_low: float = 0.5  # a benchmark attempt takes minutes ...
    session_hours_high: float = 3.0  # ... a working day's session takes hours


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    value: float
    strength: float
    detail: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "value": round(self.value, 4),
            "strength": round(self.strength, 4),
            **self.detail,
        }


def ramp(value: float, low: float, high: float) -> float:
    """0 at ``low``, 1 at ``high`` (either order), linear between, clipped."""
    if high == low:
        return 1.0 if value >= high else 0.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _cv(values: Sequence[float]) -> float:
    mean = statistics.fmean(values)
    return statistics.pstdev(values) / mean if mean > 0 else 0.0


def _few(name: str, n: int) -> Signal:
    return Signal(name, 0.0, 0.0, {"insufficient": True, "requests": n})


def _examples(rows: Sequence[UsageRow]) -> list[str]:
    seen: list[str] = []
    for row in rows:
        if row.prompt_sha256 and row.prompt_sha256 not in seen:
            seen.append(row.prompt_sha256)
            if len(seen) == EXAMPLES:
                break
    return seen


def volume(rows: Sequence[UsageRow], start: datetime, end: datetime) -> Signal:
    hours = max((end - start).total_seconds() / 3600, 1e-9)
    served = sum(1 for r in rows if r.outcome in SERVED)
    tokens = sum(r.input_tokens + r.output_tokens for r in rows)
    per_minute: Counter[int] = Counter()
    tokens_per_minute: Counter[int] = Counter()
    for r in rows:
        minute = int(r.ts.timestamp() // 60)
        per_minute[minute] += 1
        tokens_per_minute[minute] += r.input_tokens + r.output_tokens
    detail = {
        "requests": len(rows),
        "served": served,
        "tokens": tokens,
        "hours": round(hours, 2),
        "peak_rpm": max(per_minute.values(), default=0),
        "peak_tpm": max(tokens_per_minute.values(), default=0),
        "peak_in_flight": max((r.in_flight for r in rows), default=0),
    }
    return Signal("volume", len(rows) / hours, 0.0, detail)


def flat_clock(
    rows: Sequence[UsageRow], start: datetime, end: datetime, cfg: SignalConfig
) -> Signal:
    """Hourly request counts across the window: a flat profile around the clock is a
    machine's, people and benchmark runs come in waves."""
    bins = max(1, int((end - start).total_seconds() // 3600))
    if len(rows) < cfg.min_requests or bins < 6:
        return _few("flat_clock", len(rows))
    counts = [0] * bins
    for r in rows:
        slot = int((r.ts - start).total_seconds() // 3600)
        if 0 <= slot < bins:
            counts[slot] += 1
    cv = _cv([float(c) for c in counts])
    active = sum(1 for c in counts if c > 0) / bins
    strength = ramp(cv, cfg.flat_cv_high, cfg.flat_cv_low) * active
    return Signal("flat_clock", cv, strength, {"hours": bins, "active_share": round(active, 3)})


def pinned(rows: Sequence[UsageRow], cfg: SignalConfig) -> Signal:
    """Share of active minutes at the grant's RPM, of calls admitted at its concurrency
    limit, and of requests refused for limits: traffic held against its ceiling."""
    if len(rows) < cfg.min_requests:
        return _few("pinned", len(rows))
    minutes: Counter[tuple[str | None, int]] = Counter()
    rpm: dict[tuple[str | None, int], int] = {}
    at_concurrency = 0
    for r in rows:
        slot = (r.model, int(r.ts.timestamp() // 60))
        minutes[slot] += 1
        if r.rpm:
            rpm[slot] = r.rpm
        if r.max_concurrency and r.in_flight >= r.max_concurrency:
            at_concurrency += 1
    limited = [s for s in minutes if s in rpm]
    full = sum(1 for s in limited if minutes[s] >= cfg.pinned_share * rpm[s])
    minute_share = full / len(limited) if limited else 0.0
    concurrency_share = at_concurrency / len(rows)
    refused = sum(1 for r in rows if r.code in LIMIT_CODES) / len(rows)
    value = max(minute_share, concurrency_share, min(1.0, 2 * refused))
    detail = {
        "minutes_at_rpm": round(minute_share, 3),
        "at_max_concurrency": round(concurrency_share, 3),
        "limit_refusals": round(refused, 3),
    }
    return Signal("pinned", value, value, detail)


def output_ratio(rows: Sequence[UsageRow], cfg: SignalConfig) -> Signal:
    done = [r for r in rows if r.outcome in SERVED and r.input_tokens > 0]
    if len(done) < cfg.min_requests:
        return _few("output_ratio", len(done))
    ratio = statistics.median(r.output_tokens / r.input_tokens for r in done)
    return Signal("output_ratio", ratio, ramp(ratio, cfg.ratio_low, cfg.ratio_high))


def saturation(rows: Sequence[UsageRow], cfg: SignalConfig) -> Signal:
    """Share of answers that ran to max_tokens: asking for as much text as allowed."""
    done = [r for r in rows if r.outcome in SERVED and r.max_tokens]
    if len(done) < cfg.min_requests:
        return _few("saturation", len(done))
    full = [r for r in done if r.output_tokens >= cfg.saturated_share * (r.max_tokens or 0)]
    share = len(full) / len(done)
    detail = {"examples": _examples(full)}
    return Signal("saturation", share, ramp(share, cfg.saturation_low, cfg.saturation_high), detail)


def known_share(rows: Sequence[UsageRow]) -> Signal:
    """Share of prompts recognised as public benchmark items, and which datasets."""
    sketched = [r for r in rows if r.minhash is not None]
    if not sketched:
        return _few("known_benchmarks", 0)
    known = [r for r in sketched if r.benchmark]
    datasets = Counter((r.benchmark or "").split("/")[0] for r in known)
    share = len(known) / len(sketched)
    detail = {
        "datasets": dict(datasets.most_common()),
        "distinct_items": len({r.benchmark for r in known}),
    }
    return Signal("known_benchmarks", share, 0.0, detail)


def _novel(rows: Sequence[UsageRow]) -> list[UsageRow]:
    return [r for r in rows if r.minhash is not None and not r.benchmark]


def uniqueness(rows: Sequence[UsageRow], cfg: SignalConfig) -> Signal:
    """Distinct prompts among those no benchmark knows: a finite item set repeats
    (across models, epochs), extraction keeps asking new things."""
    novel = [r for r in _novel(rows) if r.prompt_sha256]
    if len(novel) < cfg.min_requests:
        return _few("uniqueness", len(novel))
    distinct = len({r.prompt_sha256 for r in novel})
    share = distinct / len(novel)
    strength = ramp(share, cfg.unique_low, cfg.unique_high) * min(1.0, distinct / cfg.unique_volume)
    return Signal("uniqueness", share, strength, {"novel": len(novel), "distinct": distinct})


def _clusters(rows: Sequence[UsageRow], cfg: SignalConfig) -> list[int]:
    """A cluster id per row: benchmark rows by their item, others by near-duplicates."""
    index = NearIndex(cfg.near)
    ids: list[int] = []
    items: dict[str, int] = {}
    for i, r in enumerate(rows):
        if r.benchmark:
            ids.append(items.setdefault(r.benchmark, -1 - len(items)))
            continue
        assert r.minhash is not None
        sig = from_bytes(r.minhash)
        near = index.near(sig)
        ids.append(ids[near[0][0]] if near else i)
        if not near:  # one representative per cluster keeps the index small
            index.add(i, sig)
    return ids


def template_and_growth(rows: Sequence[UsageRow], cfg: SignalConfig) -> tuple[Signal, Signal]:
    """Template repetition: share of novel prompts that are another prompt's template
    with other fills (alike once masked, different text). Coverage growth: share of
    the window's second half that opens clusters (topics, items) not seen before."""
    sketched = [r for r in rows if r.minhash is not None]
    if len(sketched) < cfg.min_requests:
        return _few("template", len(sketched)), _few("coverage_growth", len(sketched))
    ids = _clusters(sketched, cfg)
    texts: dict[int, set[str | None]] = {}
    for cid, r in zip(ids, sketched, strict=True):
        texts.setdefault(cid, set()).add(r.prompt_sha256)
    novel = [(cid, r) for cid, r in zip(ids, sketched, strict=True) if not r.benchmark]
    templated = [r for cid, r in novel if len(texts[cid]) > 1]
    share = len(templated) / len(novel) if novel else 0.0
    biggest = Counter(cid for cid, _ in novel).most_common(1)
    template = Signal(
        "template",
        share,
        ramp(share, 0.2, 0.7) if len(novel) >= cfg.min_requests else 0.0,
        {
            "clusters": len({cid for cid, _ in novel}),
            "largest": biggest[0][1] if biggest else 0,
            "examples": _examples(templated),
        },
    )
    half = len(sketched) // 2
    seen = set(ids[:half])
    later = ids[half:]
    fresh = 0
    for cid in later:
        if cid not in seen:
            fresh += 1
            seen.add(cid)
    growth = fresh / len(later)
    detail = {"topics": len(set(ids)), "new_in_second_half": fresh}
    return template, Signal("coverage_growth", growth, ramp(growth, 0.3, 0.8), detail)


def _flagged(name: str, rows: Sequence[UsageRow], flags: frozenset[str], full: float) -> Signal:
    if not rows:
        return _few(name, 0)
    hits = [r for r in rows if flags.intersection(r.flags)]
    share = len(hits) / len(rows)
    kinds = Counter(f for r in hits for f in r.flags if f in flags)
    detail = {
        "requests": len(hits),
        "kinds": dict(kinds.most_common()),
        "examples": _examples(hits),
    }
    strength = ramp(share, 0.0, full) if len(hits) >= 5 else 0.0
    return Signal(name, share, strength, detail)


def reasoning(rows: Sequence[UsageRow]) -> Signal:
    """Requests for reasoning traces (parameters, or asking for the steps in the prompt)."""
    return _flagged("reasoning", rows, REASONING, 0.6)


def probing(rows: Sequence[UsageRow]) -> Signal:
    """Probing parameters: logprobs, logit_bias, n > 1, echo (served or refused)."""
    return _flagged("probing", rows, PROBING, 0.2)


def agent_sessions(rows: Sequence[UsageRow], cfg: SignalConfig) -> Signal:
    """Coding-agent work: requests declaring a coding tool set (shell, edit, patch)
    that carry tool results, grouped into the client's sessions. A benchmark harness
    runs many short sessions on known exercises; a developer's assistant runs a few
    sessions for hours. Strength grows with the agent share and with the hours of
    the longest sessions (the median of the three longest)."""
    if len(rows) < cfg.min_requests:
        return _few("agent_sessions", len(rows))
    turns = [r for r in rows if "coding_tools" in r.flags]
    share = len(turns) / len(rows)
    spans: dict[str, list[float]] = {}
    for row in turns:
        session = next((f for f in row.flags if f.startswith("session:")), None)
        if session is not None:
            spans.setdefault(session, []).append(row.ts.timestamp())
    hours = sorted(((max(t) - min(t)) / 3600 for t in spans.values()), reverse=True)
    long_hours = statistics.median(hours[:3]) if hours else 0.0
    clients = Counter(
        f.removeprefix("client:") for r in turns for f in r.flags if f.startswith("client:")
    )
    detail = {
        "agent_requests": len(turns),
        "tool_loop_requests": sum("tool_loop" in r.flags for r in turns),
        "sessions": len(spans),
        "longest_session_hours": round(hours[0], 2) if hours else 0.0,
        "turns_per_session": round(len(turns) / len(spans), 1) if spans else 0.0,
        "clients": dict(clients.most_common()),
    }
    strength = ramp(share, cfg.agent_share_low, cfg.agent_share_high) * ramp(
        long_hours, cfg.session_hours_low, cfg.session_hours_high
    )
    return Signal("agent_sessions", share, strength, detail)


def regular_timing(rows: Sequence[UsageRow], cfg: SignalConfig) -> Signal:
    """Coefficient of variation of inter-arrival times (pauses left out): people and
    load-dependent runners are irregular (CV near 1 or more), a scheduler is not."""
    times = sorted(r.ts.timestamp() for r in rows)
    gaps = [b - a for a, b in itertools.pairwise(times) if b - a <= cfg.idle_gap_s]
    if len(gaps) < cfg.min_requests:
        return _few("regular_timing", len(gaps))
    cv = _cv(gaps)
    return Signal("regular_timing", cv, ramp(cv, cfg.regular_cv_high, cfg.regular_cv_low))


def all_signals(
    rows: Sequence[UsageRow], start: datetime, end: datetime, cfg: SignalConfig | None = None
) -> dict[str, Signal]:
    cfg = cfg or SignalConfig()
    template, growth = template_and_growth(rows, cfg)
    found = [
        volume(rows, start, end),
        flat_clock(rows, start, end, cfg),
        pinned(rows, cfg),
        output_ratio(rows, cfg),
        saturation(rows, cfg),
        known_share(rows),
        uniqueness(rows, cfg),
        template,
        growth,
        reasoning(rows),
        probing(rows),
        regular_timing(rows, cfg),
        agent_sessions(rows, cfg),
    ]
    return {s.name: s for s in found}
