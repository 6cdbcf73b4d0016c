"""The monitor's tables: per-request usage records and findings (0004_monitor).

A usage record keeps no prompt text: the prompt's SHA-256 and a 256-byte MinHash
signature of its masked form. Usage rows are written in batches by the monitor's
recorder, off the request path; findings are written by evaluations and changed
together with their audit record (``update_finding`` in the caller's transaction).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from benchwarden.store import schema
from benchwarden.store.guard import Guard

_USAGE = schema.monitor_usage
_FINDINGS = schema.monitor_findings


@dataclass(slots=True)
class UsageRow:
    ts: datetime
    org: str
    key_id: str
    endpoint: str
    outcome: str
    model: str | None = None
    purpose: str | None = None
    code: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    max_tokens: int | None = None
    rpm: int | None = None
    max_concurrency: int | None = None
    in_flight: int = 0
    flags: list[str] = field(default_factory=list)
    prompt_sha256: str | None = None
    minhash: bytes | None = None
    benchmark: str | None = None


_USAGE_FIELDS = tuple(f.name for f in dataclasses.fields(UsageRow))


@dataclass(slots=True)
class FindingRow:
    created_at: datetime
    org: str
    window_start: datetime
    window_end: datetime
    score: float
    kind: str
    recommended: str
    signals: dict[str, Any]
    evidence: dict[str, Any]
    status: str = "open"
    action: str | None = None
    applied_by: str | None = None
    applied_at: datetime | None = None
    id: int | None = None


_FINDING_FIELDS = tuple(f.name for f in dataclasses.fields(FindingRow) if f.name != "id")


def _finding(mapping: Any) -> FindingRow:
    return FindingRow(id=int(mapping["id"]), **{n: mapping[n] for n in _FINDING_FIELDS})


class MonitorStore:
    """Thread-safe; blocking (call from a thread in async code)."""

    def __init__(self, engine: Engine, guard: Guard) -> None:
        self._engine = engine
        self._guard = guard

    def insert_usage(self, rows: list[UsageRow]) -> None:
        if not rows:
            return
        values = [{n: getattr(r, n) for n in _USAGE_FIELDS} for r in rows]
        with self._guard.errors("record usage"), self._engine.begin() as conn:
            conn.execute(sa.insert(_USAGE), values)

    def usage(self, since: datetime, until: datetime, org: str | None = None) -> list[UsageRow]:
        """Records with ``since <= ts < until`` (of one organization), oldest first."""
        query = sa.select(*[_USAGE.c[n] for n in _USAGE_FIELDS]).where(
            _USAGE.c.ts >= since, _USAGE.c.ts < until
        )
        if org is not None:
            query = query.where(_USAGE.c.org == org)
        query = query.order_by(_USAGE.c.ts, _USAGE.c.id)
        with self._guard.errors("read usage"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [UsageRow(**dict(r._mapping)) for r in rows]

    def usage_count(self) -> int:
        with self._guard.errors("count usage"), self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_USAGE)).scalar_one())

    def insert_finding(self, conn: Connection, row: FindingRow) -> FindingRow:
        """In the caller's transaction (with the finding's audit record)."""
        values = {n: getattr(row, n) for n in _FINDING_FIELDS}
        new_id = conn.execute(
            sa.insert(_FINDINGS).values(**values).returning(_FINDINGS.c.id)
        ).scalar_one()
        return dataclasses.replace(row, id=int(new_id))

    def findings(
        self, org: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[FindingRow]:
        """The latest findings first."""
        query = sa.select(_FINDINGS)
        if org is not None:
            query = query.where(_FINDINGS.c.org == org)
        if status is not None:
            query = query.where(_FINDINGS.c.status == status)
        query = query.order_by(_FINDINGS.c.id.desc()).limit(limit)
        with self._guard.errors("read findings"), self._engine.connect() as conn:
            return [_finding(r._mapping) for r in conn.execute(query)]

    def get_finding(self, finding_id: int) -> FindingRow | None:
        with self._guard.errors("read a finding"), self._engine.connect() as conn:
            return self.finding(conn, finding_id)

    def finding(self, conn: Connection, finding_id: int) -> FindingRow | None:
        row = conn.execute(sa.select(_FINDINGS).where(_FINDINGS.c.id == finding_id)).first()
        return None if row is None else _finding(row._mapping)

    def update_finding(self, conn: Connection, finding_id: int, **values: Any) -> None:
        conn.execute(sa.update(_FINDINGS).where(_FINDINGS.c.id == finding_id).values(**values))
