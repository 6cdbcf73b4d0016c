"""Writing judgments: final rows stay, error rows and superseded rows (another prompt
version, other answer hashes) are replaced; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from benchwarden.store import JudgmentRecord, Store
from tests.store.helpers import make_run


@pytest.fixture
def run_store(store: Store) -> Store:
    store.create_run(make_run())
    return store


def _judgment(item: str, **kw: object) -> JudgmentRecord:
    base = JudgmentRecord(
        "run-1", "writing", item, 0, "j", "pairwise", "m1", "m2", "ok", "v1", "A>B",
        answer_a_sha256="a" * 64, answer_b_sha256="b" * 64,
    )  # fmt: skip
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_final_kept_error_and_superseded_replaced(run_store: Store) -> None:
    run_store.add_judgments(
        [_judgment(i) for i in ("same", "version", "hash-a", "hash-b")]
        + [_judgment("err", status="error", verdict=None)]
    )
    written = run_store.add_judgments(
        [
            _judgment("same", verdict="B>A"),  # same version and answers: kept as it was
            _judgment("version", prompt_version="v2", verdict="B>A"),
            _judgment("hash-a", answer_a_sha256="c" * 64, verdict="B>A"),
            _judgment("hash-b", answer_b_sha256=None, verdict="B>A"),  # NULL differs too
            _judgment("err", verdict="B>A"),
        ]
    )
    assert written == 4
    got = {j.item_id: j for j in run_store.judgments("run-1")}
    assert got["same"].verdict == "A>B"
    assert {k: got[k].verdict for k in ("version", "hash-a", "hash-b", "err")} == dict.fromkeys(
        ("version", "hash-a", "hash-b", "err"), "B>A"
    )
    assert got["version"].prompt_version == "v2" and got["hash-a"].answer_a_sha256 == "c" * 64
    assert got["hash-b"].answer_b_sha256 is None and len(got) == 5
