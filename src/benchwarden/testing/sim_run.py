"""The traffic simulator's run: simulated organizations through a real warden.

warden runs on 127.0.0.1 (uvicorn on a thread) with a ``SimClock``: every request
carries its simulated moment in ``Benchwarden-Sim-Time``, so a day passes in seconds
while warden decides, limits, audits and records usage as at that moment. The
upstream is the mock on loopback, answering with the lengths each organization's
plan asks for. At checkpoints (6, 12, 18, 24 simulated hours) the monitor assesses
the last 24 hours; an organization counts as flagged from the first checkpoint at
which its level is flag or above.

Figures: recall (distillation-like organizations flagged for extraction or probing),
the benchmark-like organizations' flag rate (any finding), precision (of extraction
flags, the share that are distillation-like), and the product-like flag rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from benchwarden.testing.mock_upstream import Shaped, ThreadedMockUpstream
from benchwarden.testing.sim_traffic import OrgPlan, SimRequest
from benchwarden.warden.app import WardenSettings, create_app, runtime_of
from benchwarden.warden.backends import parse_backends
from benchwarden.warden.monitor.fingerprints import Fingerprints
from benchwarden.warden.monitor.scoring import Policy
from benchwarden.warden.monitor.service import OrgAssessment
from benchwarden.warden.server import BackgroundServer
from benchwarden.warden.sim_clock import SIM_TIME_HEADER, SimClock
from benchwarden.warden.tenancy import GrantTerms

MODELS = ("model-a", "model-b", "model-c", "model-d")
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight UTC
EXTRACTION_KINDS = frozenset({"extraction", "probing"})


@dataclass(slots=True)
class OrgOutcome:
    name: str
    kind: str
    requests: int
    score: float = 0.0
    level: str = "none"
    found: str = "none"
    first_flag_h: float | None = None
    first_kind: str = "none"
    traits: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return self.first_flag_h is not None


@dataclass(slots=True)
class SimReport:
    outcomes: list[OrgOutcome]
    requests: int
    seconds: float
    mode: str = "live server (requests through warden on loopback)"

    def of(self, kind: str) -> list[OrgOutcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def counts(self) -> dict[str, tuple[int, int]]:
        """Each figure as (numerator, denominator): the exact counts behind the rates."""
        distill = self.of("distillation")
        overt = [o for o in distill if not o.traits.get("stealthy")]
        stealthy = [o for o in distill if o.traits.get("stealthy")]

        def caught(orgs: list[OrgOutcome]) -> int:
            return sum(1 for o in orgs if o.flagged and o.first_kind in EXTRACTION_KINDS)

        flags = [o for o in self.outcomes if o.flagged and o.first_kind in EXTRACTION_KINDS]
        bench, product = self.of("benchmark"), self.of("product")
        return {
            "recall": (caught(distill), len(distill)),
            "recall_overt": (caught(overt), len(overt)),
            "recall_stealthy": (caught(stealthy), len(stealthy)),
            "stealthy_flagged_any": (sum(o.flagged for o in stealthy), len(stealthy)),
            "precision": (caught(distill), len(flags)),
            "benchmark_flag_rate": (sum(o.flagged for o in bench), len(bench)),
            "product_flag_rate": (sum(o.flagged for o in product), len(product)),
        }

    def figures(self) -> dict[str, float]:
        out = {k: n / d if d else float("nan") for k, (n, d) in self.counts().items()}
        out.update(
            orgs=float(len(self.outcomes)),
            requests=float(self.requests),
            seconds=round(self.seconds, 1),
        )
        return out

    def lines(self) -> list[str]:
        f, c = self.figures(), self.counts()

        def show(name: str) -> str:
            n, d = c[name]
            return f"{n}/{d} = {f[name]:.3f}" if d else "n/a (none)"

        return [
            f"mode: {self.mode}",
            f"organizations {int(f['orgs'])}, requests {int(f['requests'])}, {f['seconds']} s",
            "recall (distillation-like flagged for extraction within a simulated day): "
            + show("recall"),
            f"  overt (machine timing, saturated answers): {show('recall_overt')}",
            f"  stealthy (human-like timing, few saturated answers): {show('recall_stealthy')}"
            f"; flagged for any reason: {show('stealthy_flagged_any')}",
            f"precision (extraction flags that are distillation-like): {show('precision')}",
            f"benchmark-like flagged (false-flag rate): {show('benchmark_flag_rate')}",
            f"product-like flagged (purpose mismatch expected): {show('product_flag_rate')}",
        ]


def _shape(planned: dict[tuple[str, str], int]) -> Any:
    def shape(request: dict[str, Any]) -> Shaped:
        messages = request.get("messages") or [{}]
        prompt = str(messages[-1].get("content", ""))
        cap = int(request.get("max_tokens") or request.get("max_completion_tokens") or 512)
        want = planned.get((str(request.get("model")), prompt), 50)
        out = max(1, min(want, cap))
        finish = "length" if out >= cap else "stop"
        return Shaped("lorem " * min(out, 20), max(1, len(prompt.split()) * 4 // 3), out, finish)

    return shape


def _backends(base_url: str) -> str:
    return "\n".join(
        f'[backends."{m}"]\nprovider = "openai"\nbase_url = "{base_url}/v1"\nmodel = "{m}"\n'
        "max_attempts = 1\n"  # the mock on loopback needs no key: none is configured
        for m in MODELS
    )


async def _drive(
    url: str,
    keys: dict[str, str],
    events: Sequence[tuple[float, str, SimRequest]],
    concurrency: int,
) -> None:
    limit = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=60)

    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(org: str, req: SimRequest) -> None:
            body: dict[str, Any] = {
                "model": req.model,
                "messages": [{"role": "user", "content": req.prompt}],
                **req.params,
            }
            if req.max_tokens is not None:
                body["max_tokens"] = req.max_tokens
            headers = {
                "authorization": f"Bearer {keys[org]}",
                "benchwarden-purpose": "benchmarking",
                SIM_TIME_HEADER: f"{START.timestamp() + req.ts:.3f}",
            }
            try:
                async with session.post(
                    f"{url}/v1/chat/completions", json=body, headers=headers
                ) as r:
                    await r.read()
            finally:
                limit.release()

        tasks = []
        for _ts, org, req in events:
            await limit.acquire()
            tasks.append(asyncio.create_task(one(org, req)))
        await asyncio.gather(*tasks)


def run_simulation(
    plans: Sequence[OrgPlan],
    db: Path,
    fingerprints: Fingerprints,
    *,
    concurrency: int = 8,
    checkpoints_h: Sequence[float] = (6, 12, 18, 24),
    policy: Policy | None = None,
) -> SimReport:
    planned = {(r.model, r.prompt): r.output_tokens for p in plans for r in p.requests}
    events = sorted(((r.ts, p.name, r) for p in plans for r in p.requests), key=lambda e: e[0])
    outcomes = {p.name: OrgOutcome(p.name, p.kind, len(p.requests), traits=p.traits) for p in plans}
    started = time.perf_counter()
    with ThreadedMockUpstream(shape=_shape(planned), keep_bodies=False) as mock:
        clock = SimClock(START)
        app = create_app(
            str(db),
            parse_backends(_backends(mock.base_url)),
            admin_token="",
            settings=WardenSettings(monitor_flush_s=0.2),
            fingerprints=fingerprints,
            policy=policy,
            sim_clock=clock,
        )
        runtime = runtime_of(app)
        keys: dict[str, str] = {}
        for plan in plans:
            runtime.tenancy.create_org(plan.name)
            for model in MODELS:
                terms = GrantTerms(("benchmarking",), plan.rpm, None, None)
                runtime.tenancy.add_grant(plan.name, model, terms)
            keys[plan.name] = runtime.tenancy.create_key(plan.name, ["benchmarking"])[1]
        with BackgroundServer(app) as server:
            sent = 0
            for hour in checkpoints_h:
                batch = [e for e in events[sent:] if e[0] < hour * 3600]
                asyncio.run(_drive(server.url, keys, batch, concurrency))
                sent += len(batch)
                _wait_recorded(runtime.store.monitor.usage_count, sent)
                end = START + timedelta(hours=hour)
                assert runtime.monitor is not None
                record_checkpoint(outcomes, runtime.monitor.assess(end=end, hours=24), hour)
    return SimReport(list(outcomes.values()), len(events), time.perf_counter() - started)


def record_checkpoint(
    outcomes: dict[str, OrgOutcome], items: Sequence[OrgAssessment], hour: float
) -> None:
    """The assessments at one checkpoint: latest scores, and the first flag's hour."""
    for item in items:
        out = outcomes[item.org]
        out.score, out.level, out.found = (
            item.assessment.score,
            item.assessment.level,
            item.assessment.kind,
        )
        if out.first_flag_h is None and item.assessment.level != "none":
            out.first_flag_h, out.first_kind = hour, item.assessment.kind


def _wait_recorded(count: Any, expected: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while count() < expected and time.monotonic() < deadline:
        time.sleep(0.05)
