"""warden: organizations, grants, keys, and the audit chain.

Revision ID: 0002_warden
Revises: 0001_initial
Create Date: 2026-05-20

Written by hand and frozen, like 0001: the types are spelled out here rather than
imported from ``schema.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_warden"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_GENESIS = "0" * 64


def _timestamp(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "warden_orgs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        _timestamp("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_warden_orgs"),
        sa.UniqueConstraint("name", name="uq_warden_orgs_name"),
    )
    op.create_table(
        "warden_grants",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("rpm", sa.BigInteger(), nullable=True),
        sa.Column("tpm", sa.BigInteger(), nullable=True),
        sa.Column("max_concurrency", sa.Integer(), nullable=True),
        _timestamp("expires_at", nullable=True),
        _timestamp("created_at", nullable=False),
        _timestamp("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_warden_grants"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["warden_orgs.id"], name="fk_warden_grants_org_id", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("org_id", "model", name="uq_warden_grants_org_model"),
    )
    op.create_table(
        "warden_keys",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("expires_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_warden_keys"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["warden_orgs.id"], name="fk_warden_keys_org_id", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_warden_keys_org_id", "warden_keys", ["org_id"])
    op.create_table(
        "warden_audit",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        _timestamp("ts", nullable=False),
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
        sa.PrimaryKeyConstraint("seq", name="pk_warden_audit"),
    )
    op.create_index("ix_warden_audit_hash", "warden_audit", ["hash"])
    head = op.create_table(
        "warden_audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_warden_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": _GENESIS}])


def downgrade() -> None:
    op.drop_table("warden_audit_head")
    op.drop_index("ix_warden_audit_hash", table_name="warden_audit")
    op.drop_table("warden_audit")
    op.drop_index("ix_warden_keys_org_id", table_name="warden_keys")
    op.drop_table("warden_keys")
    op.drop_table("warden_grants")
    op.drop_table("warden_orgs")
