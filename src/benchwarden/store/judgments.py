"""Writing judgments in the database: idempotent batches, resume keys, reads.

The rule is the samples' rule, inside one INSERT ... ON CONFLICT: a row whose status
is 'ok' or 'unparsed' is final for its prompt version and answers (a re-run never
re-judges it); an 'error' row is replaced by the next attempt, and so is a row the
new one supersedes (another prompt version, or other answer hashes: the judging
planner re-asks those); a new key is inserted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from benchwarden.store import schema
from benchwarden.store.engine import write_transaction
from benchwarden.store.records import JUDGMENT_STATUSES, JudgmentRecord, StoreError

_T = schema.writing_judgments
_REPLACEABLE = tuple(c.name for c in _T.c if c.name not in ("id", *schema.JUDGMENT_KEY))
_FIELDS = [f.name for f in dataclasses.fields(JudgmentRecord)]

JudgmentKey = tuple[str, str, int, str, str, str, str]


def _row(record: JudgmentRecord) -> dict[str, Any]:
    if record.status not in JUDGMENT_STATUSES:
        raise StoreError(
            f"judgment status {record.status!r} is not one of {', '.join(JUDGMENT_STATUSES)}"
        )
    row = {name: getattr(record, name) for name in _FIELDS}
    row["created_at"] = record.created_at or datetime.now(UTC)
    return row


def _supersedes(new: JudgmentRecord, old: JudgmentRecord) -> bool:
    return (new.prompt_version, new.answer_a_sha256, new.answer_b_sha256) != (
        old.prompt_version,
        old.answer_a_sha256,
        old.answer_b_sha256,
    )


def _merged(records: Sequence[JudgmentRecord]) -> list[JudgmentRecord]:
    """Within one batch, the same rule in order: a final row is kept, an error replaced."""
    out: dict[tuple[str, JudgmentKey], JudgmentRecord] = {}
    for r in records:
        key = (r.run_id, r.key)
        if key not in out or out[key].status == "error" or _supersedes(r, out[key]):
            out[key] = r
    return list(out.values())


def add_judgments(engine: Engine, records: Sequence[JudgmentRecord]) -> int:
    batch = [_row(r) for r in _merged(records)]
    if not batch:
        return 0
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(_T)
    upsert = stmt.on_conflict_do_update(
        index_elements=[_T.c[name] for name in schema.JUDGMENT_KEY],
        set_={name: stmt.excluded[name] for name in _REPLACEABLE},
        where=sa.or_(
            _T.c.status == "error",
            _T.c.prompt_version != stmt.excluded.prompt_version,
            _T.c.answer_a_sha256.is_distinct_from(stmt.excluded.answer_a_sha256),
            _T.c.answer_b_sha256.is_distinct_from(stmt.excluded.answer_b_sha256),
        ),
    ).returning(_T.c.id)
    with write_transaction(engine) as conn:
        return len(conn.execute(upsert, batch).all())


def judged_keys(engine: Engine, run_id: str) -> dict[JudgmentKey, str]:
    c = _T.c
    query = sa.select(
        c.suite, c.item_id, c.epoch, c.judge, c.kind, c.model_a, c.model_b, c.status
    ).where(c.run_id == run_id)
    with engine.connect() as conn:
        return {(r[0], r[1], r[2], r[3], r[4], r[5], r[6]): r[7] for r in conn.execute(query)}


def read_judgments(engine: Engine, run_id: str) -> list[JudgmentRecord]:
    query = sa.select(_T).where(_T.c.run_id == run_id).order_by(_T.c.id)
    with engine.connect() as conn:
        return [
            JudgmentRecord(**{name: r._mapping[name] for name in _FIELDS})
            for r in conn.execute(query)
        ]
