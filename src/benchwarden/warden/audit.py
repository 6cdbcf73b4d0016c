"""The audit chain's format and its verification. Pure: no I/O.

Each record holds the previous record's hash; its own hash is SHA-256 over a
canonical serialization of every field (sequence number and previous hash included):

    sha256(b"benchwarden-audit-v1\\n" + canonical JSON array of the fields, in order)

so changing, removing, inserting or reordering records breaks the chain at the first
record touched. Records keep decisions, codes, token counts and the SHA-256 of the
request body: never a prompt, an answer or a key.

``verify_chain`` walks the records in sequence order and names the first problem:
``altered`` (the record's contents do not match its hash), ``removed`` (a gap in the
sequence, or records missing at the end according to the head), ``inserted`` (a
record that the next one skips over, or beyond the head), ``reordered`` (a record
linking to one that is not its predecessor), ``broken`` (a link to no record at all).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from benchwarden.store.warden_records import GENESIS_HASH, AuditRow

FORMAT_TAG = b"benchwarden-audit-v1\n"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A record before it is sequenced: what happened, to whom, and why."""

    actor: str
    action: str
    decision: str
    ts: datetime
    org: str | None = None
    key_id: str | None = None
    model: str | None = None
    purpose: str | None = None
    code: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    request_sha256: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _timestamp(ts: datetime) -> str:
    moment = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


# json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
# allow_nan=False), with its C encoder built once instead of on every call (half the
# cost of a record's hash); the bytes are the same (a test compares them).
_encode = c_make_encoder(
    None,  # no circular-reference markers: fields are plain data
    json.JSONEncoder().default,
    encode_basestring,  # ensure_ascii=False
    None,  # no indent
    ":",
    ",",
    True,  # sort_keys
    False,  # skipkeys
    False,  # allow_nan
)


def canonical(row: AuditRow) -> bytes:
    fields = [
        row.seq,
        _timestamp(row.ts),
        row.actor,
        row.action,
        row.org,
        row.key_id,
        row.model,
        row.purpose,
        row.decision,
        row.code,
        row.input_tokens,
        row.output_tokens,
        row.request_sha256,
        row.detail,
        row.prev_hash,
    ]
    return "".join(_encode(fields, 0)).encode("utf-8")


def record_hash(row: AuditRow) -> str:
    return hashlib.sha256(FORMAT_TAG + canonical(row)).hexdigest()


def seal(entry: AuditEntry, seq: int, prev_hash: str) -> AuditRow:
    """The stored form of ``entry`` at position ``seq`` after a record hashed ``prev_hash``."""
    row = AuditRow(
        seq=seq,
        ts=entry.ts.astimezone(UTC) if entry.ts.tzinfo else entry.ts.replace(tzinfo=UTC),
        actor=entry.actor,
        action=entry.action,
        decision=entry.decision,
        org=entry.org,
        key_id=entry.key_id,
        model=entry.model,
        purpose=entry.purpose,
        code=entry.code,
        input_tokens=entry.input_tokens,
        output_tokens=entry.output_tokens,
        request_sha256=entry.request_sha256,
        detail=dict(entry.detail),
        prev_hash=prev_hash,
    )
    row.hash = record_hash(row)
    return row


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    kind: str  # altered | removed | inserted | reordered | broken
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    records: int
    head_seq: int
    head_hash: str
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _link_problem(row: AuditRow, seqs_with_hash: Callable[[str], list[int]]) -> Problem:
    """Why ``row`` does not link to its predecessor, as precisely as the chain tells."""
    targets = [s for s in seqs_with_hash(row.prev_hash) if s != row.seq]
    if row.seq - 2 in targets:
        return Problem(
            row.seq - 1,
            "inserted",
            f"record {row.seq - 1} was inserted: record {row.seq} links to record "
            f"{row.seq - 2}, skipping it",
        )
    if targets:
        return Problem(
            row.seq,
            "reordered",
            f"record {row.seq} is out of order: it links to record {targets[0]}, "
            f"not to record {row.seq - 1}",
        )
    if record_hash(row) != row.hash:
        return _altered(row.seq)
    return Problem(
        row.seq - 1 if row.seq > 1 else row.seq,
        "broken",
        f"record {row.seq} does not link to record {row.seq - 1} (its prev_hash matches "
        f"no record): record {row.seq - 1} was altered and re-hashed, or records "
        "before it were removed",
    )


def _altered(seq: int) -> Problem:
    return Problem(seq, "altered", f"record {seq} was altered: it no longer matches its hash")


def verify_chain(
    rows: Iterable[AuditRow],
    head: tuple[int, str] | None,
    seqs_with_hash: Callable[[str], list[int]],
) -> VerifyReport:
    """Walk ``rows`` (in sequence order) and report the first problem, if any.

    ``head`` is what the head row says the last record is; ``seqs_with_hash`` finds
    records by hash, to tell an insertion or a reordering from other breaks.
    """
    expected = 1
    prev = GENESIS_HASH
    count = 0
    for row in rows:
        count += 1
        if row.seq != expected:
            first, last = expected, row.seq - 1
            which = f"record {first}" if first == last else f"records {first} to {last}"
            return VerifyReport(
                count, expected - 1, prev, Problem(first, "removed", f"{which} removed")
            )
        if row.prev_hash != prev:
            return VerifyReport(count, expected - 1, prev, _link_problem(row, seqs_with_hash))
        if record_hash(row) != row.hash:
            return VerifyReport(count, expected - 1, prev, _altered(row.seq))
        prev = row.hash
        expected += 1
    last_seq = expected - 1
    problem = _head_problem(head, last_seq, prev)
    return VerifyReport(count, last_seq, prev, problem)


def _head_problem(head: tuple[int, str] | None, last_seq: int, last_hash: str) -> Problem | None:
    if head is None:
        return Problem(last_seq + 1, "removed", "the audit head row was removed")
    head_seq, head_hash = head
    if head_seq > last_seq:
        which = (
            f"record {head_seq}"
            if head_seq == last_seq + 1
            else f"records {last_seq + 1} to {head_seq}"
        )
        return Problem(last_seq + 1, "removed", f"{which} removed from the end of the chain")
    if head_seq < last_seq:
        return Problem(
            head_seq + 1,
            "inserted",
            f"record {head_seq + 1} was inserted after the last record sequenced "
            f"(the head says {head_seq})",
        )
    if head_hash != last_hash:
        return Problem(last_seq, "altered", f"record {last_seq} does not match the head's hash")
    return None
