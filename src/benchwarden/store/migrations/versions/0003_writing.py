"""bench: writing judgments (pairwise verdicts in both orders, single-answer grades).

Revision ID: 0003_writing
Revises: 0002_warden
Create Date: 2026-05-21

Written by hand and frozen: the types are spelled out here rather than imported
from ``schema.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_writing"
down_revision: str | Sequence[str] | None = "0002_warden"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "writing_judgments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
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
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_writing_judgments"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_writing_judgments_run_id", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "run_id",
            "suite",
            "item_id",
            "epoch",
            "judge",
            "kind",
            "model_a",
            "model_b",
            name="uq_writing_judgments_key",
        ),
    )
    op.create_index("ix_writing_judgments_run", "writing_judgments", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_writing_judgments_run", table_name="writing_judgments")
    op.drop_table("writing_judgments")
