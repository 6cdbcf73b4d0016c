"""Samples: the idempotency rule, resume keys, ordering, round trips and totals; on
SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from benchwarden.store import SampleRecord, Store, StoreError, open_store
from tests.store.helpers import make_run, make_sample
from tests.store.pg import PgServer


@pytest.fixture
def run_store(store: Store) -> Store:
    store.create_run(make_run())
    return store


def test_new_keys_are_inserted(run_store: Store) -> None:
    written = run_store.add_samples([make_sample("1"), make_sample("2", "error")])
    assert written == 2
    assert run_store.done_keys("run-1") == {
        ("m1", "s1", "1", 0): "ok",
        ("m1", "s1", "2", 0): "error",
    }


def test_ok_is_kept_error_is_replaced(run_store: Store) -> None:
    run_store.add_samples([make_sample("ok-row", answer="first"), make_sample("err-row", "error")])
    written = run_store.add_samples(
        [
            make_sample("ok-row", answer="second"),  # ignored: already ok
            make_sample("err-row", answer="recovered"),  # replaces the error
            make_sample("new-row"),  # inserted
        ]
    )
    assert written == 2
    rows = {s.item_id: s for s in run_store.samples("run-1")}
    assert rows["ok-row"].answer == "first"
    assert rows["err-row"].status == "ok" and rows["err-row"].answer == "recovered"
    assert rows["err-row"].error_kind is None and rows["err-row"].error_message is None
    assert set(rows) == {"ok-row", "err-row", "new-row"}


def test_an_error_never_overwrites_ok(run_store: Store) -> None:
    run_store.add_samples([make_sample("1")])
    assert run_store.add_samples([make_sample("1", "error")]) == 0
    assert run_store.done_keys("run-1") == {("m1", "s1", "1", 0): "ok"}


def test_error_replaces_error(run_store: Store) -> None:
    run_store.add_samples([make_sample("1", "error", error_message="first")])
    assert run_store.add_samples([make_sample("1", "error", error_message="second")]) == 1
    (row,) = run_store.samples("run-1")
    assert row.error_message == "second"


def test_rewriting_the_same_batch_writes_nothing(run_store: Store) -> None:
    batch = [make_sample(str(i), epoch=e) for i in range(20) for e in range(2)]
    assert run_store.add_samples(batch) == 40
    assert run_store.add_samples(batch) == 0
    assert len(run_store.samples("run-1")) == 40


def test_repeated_keys_inside_one_batch(run_store: Store) -> None:
    written = run_store.add_samples(
        [
            make_sample("a", "error"),
            make_sample("a", answer="then ok"),
            make_sample("a", answer="ignored"),
            make_sample("b", answer="kept"),
            make_sample("b", "error"),
        ]
    )
    assert written == 2
    rows = {s.item_id: s for s in run_store.samples("run-1")}
    assert rows["a"].answer == "then ok" and rows["b"].answer == "kept"


def test_empty_batch(run_store: Store) -> None:
    assert run_store.add_samples([]) == 0


def test_batch_is_all_or_nothing(run_store: Store) -> None:
    bad = make_sample("2", run_id="no-such-run")
    with pytest.raises(StoreError, match="no-such-run"):
        run_store.add_samples([make_sample("1"), bad])
    assert run_store.samples("run-1") == []


def test_invalid_sample_status_is_refused(run_store: Store) -> None:
    with pytest.raises(StoreError, match="status"):
        run_store.add_samples([make_sample("1"), make_sample("2", "skipped")])
    assert run_store.samples("run-1") == []


def test_non_finite_json_is_refused_on_both_backends(run_store: Store) -> None:
    with pytest.raises(StoreError):
        run_store.add_samples([make_sample("1", score_detail={"ratio": float("nan")})])
    assert run_store.samples("run-1") == []


def test_done_keys_are_per_run(run_store: Store) -> None:
    run_store.create_run(make_run("run-2"))
    run_store.add_samples([make_sample("1"), make_sample("1", run_id="run-2", model="m2")])
    assert run_store.done_keys("run-1") == {("m1", "s1", "1", 0): "ok"}
    assert run_store.done_keys("run-2") == {("m2", "s1", "1", 0): "ok"}
    assert run_store.done_keys("unknown") == {}


def test_delete_errors(run_store: Store) -> None:
    run_store.add_samples(
        [
            make_sample("1", model="m1"),
            make_sample("2", "error", model="m1"),
            make_sample("3", "error", model="m2"),
            make_sample("4", "error", model="m3"),
        ]
    )
    assert run_store.delete_errors("run-1", models=[]) == 0
    assert run_store.delete_errors("run-1", models=["m2"]) == 1
    assert set(run_store.done_keys("run-1").values()) == {"ok", "error"}
    assert run_store.delete_errors("run-1") == 2
    assert run_store.done_keys("run-1") == {("m1", "s1", "1", 0): "ok"}
    assert run_store.delete_errors("run-1") == 0


def test_samples_order_and_filters(run_store: Store) -> None:
    keys = [
        ("m2", "s1", "b", 0),
        ("m1", "s2", "a", 1),
        ("m1", "s1", "b", 0),
        ("m1", "s1", "a", 1),
        ("m1", "s1", "a", 0),
        ("M0", "s1", "a", 0),  # uppercase sorts first, bytewise, on both backends
        ("m1", "s1", "B", 0),
    ]
    run_store.add_samples([make_sample(i, model=m, suite=s, epoch=e) for m, s, i, e in keys])
    got = [(s.model, s.suite, s.item_id, s.epoch) for s in run_store.samples("run-1")]
    assert got == sorted(keys)
    only = run_store.samples("run-1", model="m1", suite="s1")
    assert [(s.item_id, s.epoch) for s in only] == [("B", 0), ("a", 0), ("a", 1), ("b", 0)]
    assert {s.suite for s in run_store.samples("run-1", suite="s2")} == {"s2"}


def test_order_is_bytewise_whatever_the_postgresql_collation(pg_server: PgServer) -> None:
    # en-US collation would put "a" before "B"; the store promises byte order everywhere.
    with open_store(pg_server.create_database(icu_locale="en-US")) as store:
        store.create_run(make_run())
        store.add_samples([make_sample(i, model=m) for m in ("b", "A", "a") for i in ("x", "Y")])
        got = [(s.model, s.item_id) for s in store.samples("run-1")]
        assert got == sorted(got) and got[0] == ("A", "Y")
        assert list(store.totals("run-1")) == ["A", "a", "b"]


def test_full_round_trip(run_store: Store) -> None:
    started = datetime(2026, 5, 1, 9, 0, 0, 250000, tzinfo=ZoneInfo("America/New_York"))
    sample = SampleRecord(
        run_id="run-1",
        model="openai/gpt-4.1-mini",
        suite="humaneval",
        item_id="HumanEval/0",
        epoch=3,
        status="ok",
        answer="def f():\n    return 'é ✓'\n",
        answer_sha256="0" * 64,
        score=0.75,
        passed=True,
        score_detail={"tests": [1, 0, 1], "nested": {"ok": True, "why": None}, "u": "ü"},
        input_tokens=123,
        output_tokens=45,
        latency_s=1.5,
        cost=0.000123,
        endpoint="https://api.example/v1",
        purpose="benchmarking",
        mode="chat",
        finish_reason="stop",
        params={"temperature": 0.0, "seed": 7, "stop": ["\n\n"]},
        cached=True,
        started_at=started,
        finished_at=started + timedelta(seconds=1.5),
        metadata={"attempts": 2, "tags": ["a", "b"]},
    )
    run_store.add_samples([sample])
    (got,) = run_store.samples("run-1")
    assert got == sample
    assert got.started_at is not None and got.started_at.tzinfo == UTC
    assert got.finished_at is not None and got.finished_at.tzinfo == UTC
    assert got.passed is True and got.cached is True


def test_defaults_round_trip(run_store: Store) -> None:
    sample = SampleRecord(
        run_id="run-1", model="m", suite="s", item_id="i", epoch=0, status="error"
    )
    run_store.add_samples([sample])
    assert run_store.samples("run-1") == [sample]


def test_answer_hash_is_filled_when_missing(run_store: Store) -> None:
    run_store.add_samples([make_sample("1", answer="hello"), make_sample("2", answer=None)])
    one, two = run_store.samples("run-1")
    assert one.answer_sha256 == hashlib.sha256(b"hello").hexdigest()
    assert two.answer_sha256 is None


def test_nul_characters_are_stored_on_both_backends(run_store: Store) -> None:
    run_store.add_samples([make_sample("1", answer="a\x00b")])
    (got,) = run_store.samples("run-1")
    assert got.answer == "a\ufffdb"
    assert got.answer_sha256 == hashlib.sha256(b"a\x00b").hexdigest()


def test_totals(run_store: Store) -> None:
    run_store.add_samples(
        [
            make_sample("1", model="m1", input_tokens=100, output_tokens=10, cost=0.5),
            make_sample("2", model="m1", input_tokens=50, output_tokens=5, cost=0.25),
            make_sample("3", "error", model="m1", input_tokens=7),
            make_sample("1", model="m2", input_tokens=1, output_tokens=2, cost=0.0),
        ]
    )
    totals = run_store.totals("run-1")
    assert totals == {
        "m1": {"samples": 3, "errors": 1, "input_tokens": 157, "output_tokens": 15, "cost": 0.75},
        "m2": {"samples": 1, "errors": 0, "input_tokens": 1, "output_tokens": 2, "cost": 0.0},
    }
    assert run_store.totals("unknown") == {}
