"""The tables, as SQLAlchemy Core. The same schema serves SQLite and PostgreSQL.

This module describes the schema the code expects; the migrations under
``migrations/versions`` create it. A test compares the two on both backends, so a
change here without a matching migration fails CI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that always comes back tz-aware in UTC.

    PostgreSQL stores ``timestamptz`` and returns it in the session's time zone; SQLite
    has no time zone support and returns naive values. Both are normalised to UTC here,
    and SQLite stores naive UTC text so that its values sort correctly as strings.
    A naive datetime given to the store is taken to be UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only makes a rowid alias of a column typed exactly INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Named constraints, so that migrations can refer to them on both backends.
metadata = sa.MetaData(naming_convention={"pk": "pk_%(table_name)s"})

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(), primary_key=True),
    sa.Column("purpose", sa.String(), nullable=False),
    sa.Column("seed", sa.BigInteger(), nullable=False),
    sa.Column("suites", sa.JSON(), nullable=False),
    sa.Column("models", sa.JSON(), nullable=False),
    sa.Column("settings", sa.JSON(), nullable=False),
    sa.Column("command", sa.Text(), nullable=False),
    sa.Column("benchwarden_version", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_runs_created_at", "created_at"),
)

# The columns that identify a sample inside the database; unique.
SAMPLE_KEY = ("run_id", "model", "suite", "item_id", "epoch")

samples = sa.Table(
    "samples",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(),
        sa.ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_samples_run_id_runs"),
        nullable=False,
    ),
    sa.Column("model", sa.String(), nullable=False),
    sa.Column("suite", sa.String(), nullable=False),
    sa.Column("item_id", sa.String(), nullable=False),
    sa.Column("epoch", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("answer", sa.Text(), nullable=True),
    sa.Column("answer_sha256", sa.String(64), nullable=True),
    sa.Column("score", sa.Double(), nullable=True),
    sa.Column("passed", sa.Boolean(), nullable=True),
    sa.Column("score_detail", sa.JSON(), nullable=False),
    sa.Column("error_kind", sa.String(), nullable=True),
    sa.Column("error_message", sa.Text(), nullable=True),
    sa.Column("input_tokens", sa.BigInteger(), nullable=False),
    sa.Column("output_tokens", sa.BigInteger(), nullable=False),
    sa.Column("latency_s", sa.Double(), nullable=True),
    sa.Column("cost", sa.Double(), nullable=False),
    sa.Column("endpoint", sa.String(), nullable=True),
    sa.Column("purpose", sa.String(), nullable=True),
    sa.Column("mode", sa.String(), nullable=True),
    sa.Column("finish_reason", sa.String(), nullable=True),
    sa.Column("params", sa.JSON(), nullable=False),
    sa.Column("cached", sa.Boolean(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.UniqueConstraint(*SAMPLE_KEY, name="uq_samples_key"),
    sa.Index("ix_samples_run_model_suite", "run_id", "model", "suite"),
)

# ---- warden: tenancy (organizations, grants, keys) and the audit chain ----------------
# See docs/WARDEN.md. Created by migration 0002_warden.

warden_orgs = sa.Table(
    "warden_orgs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("name", name="uq_warden_orgs_name"),
)

warden_grants = sa.Table(
    "warden_grants",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "org_id",
        sa.BigInteger(),
        sa.ForeignKey("warden_orgs.id", ondelete="CASCADE", name="fk_warden_grants_org_id"),
        nullable=False,
    ),
    sa.Column("model", sa.String(), nullable=False),
    sa.Column("purposes", sa.JSON(), nullable=False),
    sa.Column("rpm", sa.BigInteger(), nullable=True),
    sa.Column("tpm", sa.BigInteger(), nullable=True),
    sa.Column("max_concurrency", sa.Integer(), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # suspension by the provider (monitor): terms kept, access refused until restored
    # (migration 0005_suspension)
    sa.Column("suspended_at", UTCDateTime(), nullable=True),
    sa.Column("suspend_reason", sa.Text(), nullable=True),
    sa.UniqueConstraint("org_id", "model", name="uq_warden_grants_org_model"),
)

warden_keys = sa.Table(
    "warden_keys",
    metadata,
    sa.Column("key_id", sa.String(), primary_key=True),
    sa.Column(
        "org_id",
        sa.BigInteger(),
        sa.ForeignKey("warden_orgs.id", ondelete="CASCADE", name="fk_warden_keys_org_id"),
        nullable=False,
    ),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("purposes", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("revoke_reason", sa.Text(), nullable=True),
    sa.Index("ix_warden_keys_org_id", "org_id"),
)

warden_audit = sa.Table(
    "warden_audit",
    metadata,
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("ts", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("org", sa.String(), nullable=True),
    sa.Column("key_id", sa.String(), nullable=True),
    sa.Column("model", sa.String(), nullable=True),
    sa.Column("purpose", sa.String(), nullable=True),
    sa.Column("decision", sa.String(), nullable=False),
    sa.Column("code", sa.String(), nullable=True),
    sa.Column("input_tokens", sa.BigInteger(), nullable=False),
    sa.Column("output_tokens", sa.BigInteger(), nullable=False),
    sa.Column("request_sha256", sa.String(64), nullable=True),
    sa.Column("detail", sa.JSON(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_warden_audit_hash", "hash"),
)

# One row (id = 1): the last sequenced record. Appenders lock it (FOR UPDATE on
# PostgreSQL; SQLite's write lock does the same), which makes it the sequencer's
# mutex across replicas; verify compares the chain's end with it, so cutting records
# off the end of the chain is detected too.
warden_audit_head = sa.Table(
    "warden_audit_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# ---- bench: writing judgments (pairwise verdicts and single-answer grades) ----------
# Created by migration 0003_writing. One row per (run, suite, item, epoch, judge,
# kind, model_a, model_b): a pairwise row is one order (model_a shown first); a
# single grade has model_b = "". 'ok' and 'unparsed' rows are final; 'error' rows
# are replaced by the next attempt (the same rule as samples).
JUDGMENT_KEY = ("run_id", "suite", "item_id", "epoch", "judge", "kind", "model_a", "model_b")

writing_judgments = sa.Table(
    "writing_judgments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(),
        sa.ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_writing_judgments_run_id"),
        nullable=False,
    ),
    sa.Column("suite", sa.String(), nullable=False),
    sa.Column("item_id", sa.String(), nullable=False),
    sa.Column("epoch", sa.Integer(), nullable=False),
    sa.Column("judge", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("model_a", sa.String(), nullable=False),
    sa.Column("model_b", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("verdict", sa.String(), nullable=True),
    sa.Column("prompt_version", sa.String(), nullable=False),
    sa.Column("reply_excerpt", sa.Text(), nullable=True),
    sa.Column("error_message", sa.Text(), nullable=True),
    sa.Column("answer_a_sha256", sa.String(64), nullable=True),
    sa.Column("answer_b_sha256", sa.String(64), nullable=True),
    sa.Column("input_tokens", sa.BigInteger(), nullable=False),
    sa.Column("output_tokens", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint(*JUDGMENT_KEY, name="uq_writing_judgments_key"),
    sa.Index("ix_writing_judgments_run", "run_id"),
)

# ---- warden monitor: per-request usage records and findings ---------------------------
# See docs/WARDEN.md ("The monitor"). Created by migration 0004_monitor. No prompt text:
# a SHA-256 of the prompt and a MinHash signature of its masked form.

monitor_usage = sa.Table(
    "monitor_usage",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("ts", UTCDateTime(), nullable=False),
    sa.Column("org", sa.String(), nullable=False),
    sa.Column("key_id", sa.String(), nullable=False),
    sa.Column("model", sa.String(), nullable=True),
    sa.Column("purpose", sa.String(), nullable=True),
    sa.Column("endpoint", sa.String(), nullable=False),
    sa.Column("outcome", sa.String(), nullable=False),
    sa.Column("code", sa.String(), nullable=True),
    sa.Column("input_tokens", sa.BigInteger(), nullable=False),
    sa.Column("output_tokens", sa.BigInteger(), nullable=False),
    sa.Column("max_tokens", sa.BigInteger(), nullable=True),
    sa.Column("rpm", sa.BigInteger(), nullable=True),
    sa.Column("max_concurrency", sa.Integer(), nullable=True),
    sa.Column("in_flight", sa.Integer(), nullable=False),
    sa.Column("flags", sa.JSON(), nullable=False),
    sa.Column("prompt_sha256", sa.String(64), nullable=True),
    sa.Column("minhash", sa.LargeBinary(), nullable=True),
    sa.Column("benchmark", sa.String(), nullable=True),
    sa.Index("ix_monitor_usage_org_ts", "org", "ts"),
    sa.Index("ix_monitor_usage_ts", "ts"),
)

monitor_findings = sa.Table(
    "monitor_findings",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("org", sa.String(), nullable=False),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("window_end", UTCDateTime(), nullable=False),
    sa.Column("score", sa.Double(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("recommended", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("action", sa.String(), nullable=True),
    sa.Column("applied_by", sa.String(), nullable=True),
    sa.Column("applied_at", UTCDateTime(), nullable=True),
    sa.Column("signals", sa.JSON(), nullable=False),
    sa.Column("evidence", sa.JSON(), nullable=False),
    sa.Index("ix_monitor_findings_org_created", "org", "created_at"),
)
