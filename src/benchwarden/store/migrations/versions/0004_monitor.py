"""warden monitor: per-request usage records (no prompt text) and findings.

Revision ID: 0004_monitor
Revises: 0003_writing
Create Date: 2026-05-28

Written by hand and frozen, like 0001 and 0002: the types are spelled out here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_monitor"
down_revision: str | Sequence[str] | None = "0003_writing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "monitor_usage",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        _timestamp("ts", nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_monitor_usage"),
    )
    op.create_index("ix_monitor_usage_org_ts", "monitor_usage", ["org", "ts"])
    op.create_index("ix_monitor_usage_ts", "monitor_usage", ["ts"])
    op.create_table(
        "monitor_findings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        _timestamp("created_at", nullable=False),
        sa.Column("org", sa.String(), nullable=False),
        _timestamp("window_start", nullable=False),
        _timestamp("window_end", nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("recommended", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=True),
        sa.Column("applied_by", sa.String(), nullable=True),
        _timestamp("applied_at", nullable=True),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_findings"),
    )
    op.create_index("ix_monitor_findings_org_created", "monitor_findings", ["org", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_monitor_findings_org_created", table_name="monitor_findings")
    op.drop_table("monitor_findings")
    op.drop_index("ix_monitor_usage_ts", table_name="monitor_usage")
    op.drop_index("ix_monitor_usage_org_ts", table_name="monitor_usage")
    op.drop_table("monitor_usage")
