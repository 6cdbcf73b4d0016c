"""Pure conversions between records and table rows, and the batch rule for samples.

Column names equal field names, so the mapping is by name; what is done here is only
what the database needs (no NUL characters in text) and what the records promise
(timestamps, hashes).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from benchwarden.store.records import (
    RUN_STATUSES,
    SAMPLE_STATUSES,
    RunRecord,
    SampleRecord,
    StoreError,
)

RUN_FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))
SAMPLE_FIELDS = tuple(f.name for f in dataclasses.fields(SampleRecord))
SampleKey = tuple[str, str, str, str, int]  # (run_id, model, suite, item_id, epoch)


def check_run_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise StoreError(f"Run status must be one of {', '.join(RUN_STATUSES)}; got {status!r}.")


def _clean(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; replace it on both backends so they agree.
    return None if text is None else text.replace("\x00", "\ufffd")


def run_to_row(run: RunRecord) -> dict[str, Any]:
    return {name: getattr(run, name) for name in RUN_FIELDS}


def row_to_run(row: Mapping[Any, Any]) -> RunRecord:
    return RunRecord(**{name: row[name] for name in RUN_FIELDS})


def sample_to_row(sample: SampleRecord) -> dict[str, Any]:
    """The row for ``sample``. ``answer_sha256`` is filled from the answer when missing,
    hashed before NUL replacement so it matches what the model returned."""
    row = {name: getattr(sample, name) for name in SAMPLE_FIELDS}
    if row["answer_sha256"] is None and sample.answer is not None:
        row["answer_sha256"] = hashlib.sha256(sample.answer.encode("utf-8")).hexdigest()
    row["answer"] = _clean(sample.answer)
    row["error_message"] = _clean(sample.error_message)
    return row


def row_to_sample(row: Mapping[Any, Any]) -> SampleRecord:
    return SampleRecord(**{name: row[name] for name in SAMPLE_FIELDS})


def sample_key(sample: SampleRecord) -> SampleKey:
    return (sample.run_id, sample.model, sample.suite, sample.item_id, sample.epoch)


def merge_batch(samples: Iterable[SampleRecord]) -> list[SampleRecord]:
    """One record per key, as if the batch were applied in order under the store's rule
    ('ok' is final, 'error' is replaced), sorted by key.

    The database statement must not touch one row twice, and a fixed order makes
    concurrent PostgreSQL writers lock rows in the same order (no deadlocks).
    """
    chosen: dict[SampleKey, SampleRecord] = {}
    for sample in samples:
        if sample.status not in SAMPLE_STATUSES:
            raise StoreError(
                f"Sample {sample_key(sample)}: status must be 'ok' or 'error'; "
                f"got {sample.status!r}."
            )
        key = sample_key(sample)
        previous = chosen.get(key)
        if previous is None or previous.status != "ok":
            chosen[key] = sample
    return [chosen[key] for key in sorted(chosen)]
