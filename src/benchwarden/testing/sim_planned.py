"""The traffic simulator without a server: usage records made straight from the plans.

For populations too big to push through a live warden in minutes (hundreds of
organizations), each planned request becomes the usage record warden would have
written for it: the recorder's own ``finished_row`` (SHA-256, MinHash, fingerprint
match), the grant's limits, a sliding-window RPM check per grant as the limiter makes
(a refused request keeps no prompt, as on the server), ``logprobs`` refused as
``unsupported``, and the mock upstream's token counts. The monitor then assesses the
records at the same checkpoints as ``sim_run``. What it leaves out: concurrency (one
call in flight at a time) and any effect of the server's own timing. ``sim_run`` is the
reference; a test checks that both agree on a small population.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Sequence
from datetime import timedelta

from benchwarden.models.types import Usage
from benchwarden.store.monitor_store import UsageRow
from benchwarden.testing.sim_run import START, OrgOutcome, SimReport, record_checkpoint
from benchwarden.testing.sim_traffic import OrgPlan, SimRequest
from benchwarden.warden.monitor.fingerprints import Fingerprints
from benchwarden.warden.monitor.recorder import Observation, finished_row
from benchwarden.warden.monitor.scoring import Policy
from benchwarden.warden.monitor.service import assess_rows
from benchwarden.warden.monitor.signals import SignalConfig
from benchwarden.warden.monitor.text import probe_flags

MODE = "planned traffic (usage records made from the plans, no server)"
_WINDOW_S = 60.0


def _input_tokens(prompt: str) -> int:
    return max(1, len(prompt.split()) * 4 // 3)  # as the simulator's mock upstream counts


def plan_rows(plan: OrgPlan, prints: Fingerprints) -> list[UsageRow]:
    """The usage records of one organization's plan, oldest first."""
    admitted: dict[str, deque[float]] = defaultdict(deque)
    rows = []
    for req in sorted(plan.requests, key=lambda r: r.ts):
        rows.append(_row(plan, req, admitted[req.model], prints))
    return rows


def _row(plan: OrgPlan, req: SimRequest, admitted: deque[float], prints: Fingerprints) -> UsageRow:
    flags = probe_flags(req.params)
    obs = Observation(
        ts=START + timedelta(seconds=req.ts),
        org=plan.name,
        key_id=f"key-{plan.name}",
        endpoint="chat.completions",
        model=req.model,
        purpose="benchmarking",
        grant_id=None,
        max_tokens=req.max_tokens,
        rpm=plan.rpm,
        in_flight=1,
        flags=flags,
    )
    if "logprobs" in flags:  # refused before the limiter, as the wire parser does
        obs.max_tokens, obs.in_flight = None, 0
        return finished_row(obs, "refused", "unsupported", Usage(), prints)
    while admitted and admitted[0] <= req.ts - _WINDOW_S:
        admitted.popleft()
    if len(admitted) >= plan.rpm:
        obs.max_tokens, obs.in_flight = None, 0
        return finished_row(obs, "refused", "rate_limited", Usage(), prints)
    admitted.append(req.ts)
    obs.text = req.prompt
    out = max(1, min(req.output_tokens, req.max_tokens or 512))
    return finished_row(obs, "completed", None, Usage(_input_tokens(req.prompt), out), prints)


def run_planned(
    plans: Sequence[OrgPlan],
    fingerprints: Fingerprints,
    *,
    checkpoints_h: Sequence[float] = (6, 12, 18, 24),
    policy: Policy | None = None,
    config: SignalConfig | None = None,
) -> SimReport:
    """The detection figures of ``sim_run.run_simulation``, computed from the plans."""
    started = time.perf_counter()
    policy, config = policy or Policy(), config or SignalConfig()
    rows = [row for plan in plans for row in plan_rows(plan, fingerprints)]
    rows.sort(key=lambda r: r.ts)
    outcomes = {p.name: OrgOutcome(p.name, p.kind, len(p.requests), traits=p.traits) for p in plans}
    for hour in checkpoints_h:
        end = START + timedelta(hours=hour)
        start = end - timedelta(hours=24)
        window = [r for r in rows if start <= r.ts < end]
        record_checkpoint(outcomes, assess_rows(window, start, end, policy, config), hour)
    return SimReport(list(outcomes.values()), len(rows), time.perf_counter() - started, MODE)
