"""The store: evaluation runs and their samples, on SQLite or PostgreSQL.

Every write is one transaction. Samples follow one rule, enforced inside the
database's INSERT ... ON CONFLICT so that concurrent writers cannot break it: a row
whose status is 'ok' is final; a row whose status is 'error' is replaced by the next
attempt; a new key is inserted. That makes resuming a run a matter of writing again.

A Store holds a connection pool: make one per process (after any fork), not before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from benchwarden.store import rows, schema
from benchwarden.store.engine import write_transaction
from benchwarden.store.migrate import open_engine
from benchwarden.store.records import JudgmentRecord, RunRecord, SampleRecord, StoreError
from benchwarden.store.urls import display_url, scrub, sentence

_RUNS = schema.runs
_SAMPLES = schema.samples
_JSON_HINT = " JSON fields take dicts, lists, strings, finite numbers, booleans and None."
_REPLACEABLE = tuple(c.name for c in _SAMPLES.c if c.name not in ("id", *schema.SAMPLE_KEY))


def open_store(url: str | None = None) -> Store:
    """Open (creating and migrating as needed) the store at ``url``.

    ``None`` means the SQLite file under ``BENCHWARDEN_HOME``; a plain path means a
    SQLite file; ``sqlite:///...``, ``postgresql://...`` and ``postgres://...`` are
    URLs. Raises StoreError, with any password masked, when it cannot be opened.
    """
    engine, resolved = open_engine(url)
    return Store(engine, resolved, url or "")


class Store:
    """Runs and samples. Thread-safe; one instance per process."""

    url: str
    dialect: str

    def __init__(self, engine: Engine, url: URL, given: str = "") -> None:
        self._engine = engine
        self._url = url
        self._given = given
        self.url = display_url(url)
        self.dialect = engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    # -- runs ---------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> None:
        """Insert ``run``. Sets its ``created_at``/``updated_at`` (UTC) when they are None.
        Raises StoreError when a run with the same id exists."""
        rows.check_run_status(run.status)
        created = run.created_at or _now()
        updated = run.updated_at or created
        row = rows.run_to_row(run) | {"created_at": created, "updated_at": updated}
        try:
            with self._errors("create run"), write_transaction(self._engine) as conn:
                conn.execute(sa.insert(_RUNS), row)
            run.created_at, run.updated_at = created, updated
        except _Refused as exc:
            if self.get_run(run.run_id) is None:
                raise
            raise StoreError(
                f"Run {run.run_id!r} already exists in {self.url}. Pass another run id, "
                "or the same command with this run id to resume it."
            ) from exc

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._errors("read run"), self._engine.connect() as conn:
            row = conn.execute(sa.select(_RUNS).where(_RUNS.c.run_id == run_id)).first()
        return None if row is None else rows.row_to_run(row._mapping)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """The ``limit`` most recent runs, newest first."""
        query = (
            sa.select(_RUNS)
            .order_by(_RUNS.c.created_at.desc(), _RUNS.c.run_id.desc())
            .limit(max(limit, 0))
        )
        with self._errors("list runs"), self._engine.connect() as conn:
            return [rows.row_to_run(r._mapping) for r in conn.execute(query)]

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        settings: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        """Change what is given (``settings`` replaces the whole dict) and bump
        ``updated_at``. Raises StoreError when the run does not exist."""
        values: dict[str, Any] = {"updated_at": _now()}
        if status is not None:
            rows.check_run_status(status)
            values["status"] = status
        if settings is not None:
            values["settings"] = settings
        if note is not None:
            values["note"] = note
        query = sa.update(_RUNS).where(_RUNS.c.run_id == run_id).values(**values)
        with self._errors("update run"), write_transaction(self._engine) as conn:
            found = conn.execute(query).rowcount
        if not found:
            raise StoreError(f"No run {run_id!r} in {self.url}; create it before updating it.")

    # -- samples --------------------------------------------------------------------

    def add_samples(self, samples: Sequence[SampleRecord]) -> int:
        """Write a batch in one transaction; returns how many rows were written.

        Per key (run_id, model, suite, item_id, epoch): an existing 'ok' row is kept,
        an existing 'error' row is replaced, a new key is inserted. Within the batch the
        same rule applies in order, so a key counts at most once.
        """
        batch = [rows.sample_to_row(s) for s in rows.merge_batch(samples)]
        if not batch:
            return 0
        try:
            with self._errors("write samples"), write_transaction(self._engine) as conn:
                return len(conn.execute(self._upsert(), batch).all())
        except _Refused as exc:
            missing = sorted(
                r for r in {str(row["run_id"]) for row in batch} if not self.get_run(r)
            )
            if not missing:
                raise
            raise StoreError(
                f"Cannot write samples in {self.url}: no run {', '.join(map(repr, missing))}. "
                "Create the run first."
            ) from exc

    def _upsert(self) -> sa.Insert:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = insert(_SAMPLES)
        return stmt.on_conflict_do_update(
            index_elements=[_SAMPLES.c[name] for name in schema.SAMPLE_KEY],
            set_={name: stmt.excluded[name] for name in _REPLACEABLE},
            where=_SAMPLES.c.status != "ok",
        ).returning(_SAMPLES.c.id)

    def done_keys(self, run_id: str) -> dict[tuple[str, str, str, int], str]:
        """(model, suite, item_id, epoch) -> status, for every sample of the run."""
        c = _SAMPLES.c
        query = sa.select(c.model, c.suite, c.item_id, c.epoch, c.status).where(c.run_id == run_id)
        with self._errors("read sample keys"), self._engine.connect() as conn:
            return {(r[0], r[1], r[2], r[3]): r[4] for r in conn.execute(query)}

    def delete_errors(self, run_id: str, models: Sequence[str] | None = None) -> int:
        """Delete the run's 'error' samples (of ``models`` only, when given; an empty
        sequence deletes nothing). Returns how many were deleted."""
        query = sa.delete(_SAMPLES).where(_SAMPLES.c.run_id == run_id, _SAMPLES.c.status == "error")
        if models is not None:
            if not models:
                return 0
            query = query.where(_SAMPLES.c.model.in_(list(models)))
        with self._errors("delete error samples"), write_transaction(self._engine) as conn:
            return conn.execute(query).rowcount

    def samples(
        self, run_id: str, *, model: str | None = None, suite: str | None = None
    ) -> list[SampleRecord]:
        """The run's samples, ordered by model, suite, item_id, epoch (byte order of the
        strings on both backends, whatever the PostgreSQL database's collation)."""
        c = _SAMPLES.c
        query = sa.select(_SAMPLES).where(c.run_id == run_id)
        if model is not None:
            query = query.where(c.model == model)
        if suite is not None:
            query = query.where(c.suite == suite)
        query = query.order_by(
            self._bytewise(c.model), self._bytewise(c.suite), self._bytewise(c.item_id), c.epoch
        )
        with self._errors("read samples"), self._engine.connect() as conn:
            return [rows.row_to_sample(r._mapping) for r in conn.execute(query)]

    def _bytewise(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        # SQLite compares text bytewise already; PostgreSQL follows the database locale.
        return column.collate("C") if self.dialect == "postgresql" else column

    def totals(self, run_id: str) -> dict[str, dict[str, float]]:
        """Per model: samples (all rows), errors, input_tokens, output_tokens, cost."""
        c = _SAMPLES.c
        query = (
            sa.select(
                c.model,
                sa.func.count(),
                sa.func.sum(sa.case((c.status == "error", 1), else_=0)),
                sa.func.sum(c.input_tokens),
                sa.func.sum(c.output_tokens),
                sa.func.sum(c.cost),
            )
            .where(c.run_id == run_id)
            .group_by(c.model)
            .order_by(self._bytewise(c.model))
        )
        with self._errors("sum samples"), self._engine.connect() as conn:
            result = conn.execute(query).all()
        return {
            str(r[0]): {
                "samples": int(r[1]),
                "errors": int(r[2] or 0),
                "input_tokens": int(r[3] or 0),
                "output_tokens": int(r[4] or 0),
                "cost": float(r[5] or 0.0),
            }
            for r in result
        }

    # -- writing judgments (store/judgments.py) -------------------------------------

    def add_judgments(self, records: Sequence[JudgmentRecord]) -> int:
        """Write judge verdicts in one transaction ('ok'/'unparsed' final for their
        prompt version and answer hashes; 'error' or superseded rows replaced);
        returns how many rows were written."""
        from benchwarden.store import judgments

        with self._errors("write judgments"):
            return judgments.add_judgments(self._engine, records)

    def judged_keys(self, run_id: str) -> dict[tuple[str, str, int, str, str, str, str], str]:
        """(suite, item_id, epoch, judge, kind, model_a, model_b) -> status."""
        from benchwarden.store import judgments

        with self._errors("read judgment keys"):
            return judgments.judged_keys(self._engine, run_id)

    def judgments(self, run_id: str) -> list[JudgmentRecord]:
        """The run's writing judgments, in the order they were first written."""
        from benchwarden.store import judgments

        with self._errors("read judgments"):
            return judgments.read_judgments(self._engine, run_id)

    # -- errors ---------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Database errors become StoreError, with any password scrubbed from the text.
        Integrity errors become _Refused, for the caller to explain."""
        try:
            yield
        except IntegrityError as exc:
            raise _Refused(f"Cannot {action} in {self.url}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            reason = sentence(scrub(str(cause), self._given, self._url))
            hint = _JSON_HINT if isinstance(cause, (TypeError, ValueError)) else ""
            raise StoreError(f"Cannot {action} in {self.url}: {reason}{hint}") from exc
        except (TypeError, ValueError) as exc:
            # psycopg serialises JSON itself, so its failures arrive without a wrapper.
            reason = sentence(str(exc))
            raise StoreError(f"Cannot {action} in {self.url}: {reason}{_JSON_HINT}") from exc


class _Refused(StoreError):
    """A constraint refused the write (primary key, unique key or foreign key)."""


def _now() -> datetime:
    return datetime.now(UTC)
