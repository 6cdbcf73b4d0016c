"""The monitor's service, shared by the CLI and the admin API: assess organizations
over a window of usage records, record findings (each with an audit record), apply
the policy's automatic responses, and apply or dismiss a finding on an admin's word.
Blocking: call from a thread in async code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from benchwarden.store.monitor_store import FindingRow, UsageRow
from benchwarden.store.warden_store import WardenStore
from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.monitor.responses import Applied, apply_response
from benchwarden.warden.monitor.scoring import LEVELS, Assessment, Policy, assess
from benchwarden.warden.monitor.signals import Signal, SignalConfig, all_signals
from benchwarden.warden.sequencer import AuditSequencer, DbAuditSequencer


@dataclass(frozen=True, slots=True)
class OrgAssessment:
    org: str
    start: datetime
    end: datetime
    requests: int
    purposes: list[str]
    signals: dict[str, Signal]
    assessment: Assessment

    def evidence(self) -> dict[str, Any]:
        examples = {
            name: self.signals[name].detail["examples"]
            for name in self.assessment.top
            if name in self.signals and self.signals[name].detail.get("examples")
        }
        return {
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "requests": self.requests,
            "purposes": self.purposes,
            "top_signals": self.assessment.top,
            "parts": self.assessment.parts,
            "example_prompt_sha256": examples,
        }

    def view(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "score": self.assessment.score,
            "kind": self.assessment.kind,
            "level": self.assessment.level,
            "evidence": self.evidence(),
            "signals": {n: s.view() for n, s in self.signals.items()},
        }


def finding_view(row: FindingRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "org": row.org,
        "window": {"start": row.window_start.isoformat(), "end": row.window_end.isoformat()},
        "score": row.score,
        "kind": row.kind,
        "recommended": row.recommended,
        "status": row.status,
        "action": row.action,
        "applied_by": row.applied_by,
        "applied_at": row.applied_at.isoformat() if row.applied_at else None,
        "evidence": row.evidence,
        "signals": row.signals,
    }


def assess_rows(
    rows: list[UsageRow],
    start: datetime,
    end: datetime,
    policy: Policy,
    cfg: SignalConfig,
) -> list[OrgAssessment]:
    """Pure: one assessment per organization found in ``rows``."""
    by_org: dict[str, list[UsageRow]] = defaultdict(list)
    for row in rows:
        by_org[row.org].append(row)
    out = []
    for org, mine in sorted(by_org.items()):
        purposes = sorted({r.purpose for r in mine if r.purpose})
        signals = all_signals(mine, start, end, cfg)
        out.append(
            OrgAssessment(
                org,
                start,
                end,
                len(mine),
                purposes,
                signals,
                assess(signals, set(purposes), policy),
            )
        )
    return out


class MonitorService:
    def __init__(
        self,
        store: WardenStore,
        sequencer: AuditSequencer | None = None,
        *,
        policy: Policy | None = None,
        config: SignalConfig | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.sequencer = sequencer or DbAuditSequencer(store)
        self.policy = policy or Policy()
        self.config = config or SignalConfig()
        self.clock = clock

    def assess(
        self, end: datetime | None = None, hours: float = 24.0, org: str | None = None
    ) -> list[OrgAssessment]:
        end = end or self.clock()
        start = end - timedelta(hours=hours)
        rows = self.store.monitor.usage(start, end, org)
        return assess_rows(rows, start, end, self.policy, self.config)

    def evaluate(
        self,
        end: datetime | None = None,
        hours: float = 24.0,
        org: str | None = None,
        *,
        actor: str = "monitor:policy",
    ) -> list[FindingRow]:
        """Record a finding for every organization at level flag or above, and apply
        the policy's automatic responses to it (only escalations: a level already in
        force for the organization is not applied again). Every evaluation records new
        findings; an earlier finding is never applied twice."""
        found: list[FindingRow] = []
        for item in self.assess(end, hours, org):
            if item.assessment.level == "none":
                continue
            finding = self._record(item)
            level = item.assessment.level
            automatic = [lv for lv in LEVELS[1:] if self.policy.automatic(lv)]
            target = max(
                (lv for lv in automatic if LEVELS.index(lv) <= LEVELS.index(level)),
                key=LEVELS.index,
                default=None,
            )
            if target is not None and LEVELS.index(target) > self._applied_level(
                item.org, item.start
            ):
                assert finding.id is not None
                finding = self.apply(finding.id, target, actor=actor).finding
            found.append(finding)
        return found

    def _applied_level(self, org: str, since: datetime) -> int:
        """The highest response in force for ``org``: one applied within the window and
        not older than the latest change to the organization's grants (an admin who
        restored the limits, or a restored suspension, resets it)."""
        grants = self.store.list_grants(org)
        changed = max((g.updated_at for g in grants), default=since)
        floor = max(since, changed)
        done = [
            f
            for f in self.store.monitor.findings(org, "applied", 1000)
            if f.action in LEVELS and f.applied_at is not None and f.applied_at >= floor
        ]
        return max((LEVELS.index(f.action or "none") for f in done), default=0)

    def _record(self, item: OrgAssessment) -> FindingRow:
        now = self.clock()
        row = FindingRow(
            created_at=now,
            org=item.org,
            window_start=item.start,
            window_end=item.end,
            score=item.assessment.score,
            kind=item.assessment.kind,
            recommended=item.assessment.level,
            signals={n: s.view() for n, s in item.signals.items()},
            evidence=item.evidence(),
        )

        def change(conn: Connection) -> tuple[FindingRow, list[AuditEntry]]:
            saved = self.store.monitor.insert_finding(conn, row)
            detail = {
                "finding": saved.id,
                "score": saved.score,
                "kind": saved.kind,
                "recommended": saved.recommended,
                "top_signals": item.assessment.top,
                "window": item.evidence()["window"],
            }
            entry = AuditEntry(
                actor="monitor",
                action="monitor.finding",
                decision="done",
                ts=now,
                org=item.org,
                detail=detail,
            )
            return saved, [entry]

        saved, _ = self.sequencer.commit(change)
        return saved

    def apply(
        self, finding_id: int, action: str, *, actor: str, reason: str | None = None
    ) -> Applied:
        return apply_response(
            self.store,
            self.sequencer,
            finding_id,
            action,
            actor=actor,
            now=self.clock(),
            factor=self.policy.throttle_factor,
            reason=reason,
        )

    def findings(
        self, org: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[FindingRow]:
        return self.store.monitor.findings(org, status, limit)

    def report(
        self, end: datetime | None = None, hours: float = 24.0, org: str | None = None
    ) -> dict[str, Any]:
        """Live assessments (nothing written) and the latest findings."""
        items = self.assess(end, hours, org)
        items.sort(key=lambda a: -a.assessment.score)
        return {
            "window_hours": hours,
            "policy": {
                "flag": self.policy.flag,
                "throttle": self.policy.throttle,
                "suspend": self.policy.suspend,
                "revoke": self.policy.revoke,
                "auto_max": self.policy.auto_max,
            },
            "orgs": [a.view() for a in items],
            "findings": [finding_view(f) for f in self.findings(org, limit=50)],
        }
