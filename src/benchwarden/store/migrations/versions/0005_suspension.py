"""warden grants: suspension by the provider, apart from expiry.

Revision ID: 0005_suspension
Revises: 0004_monitor
Create Date: 2026-06-02

A suspended grant keeps its terms and is refused with ``grant_suspended`` until an
admin restores it. Written by hand and frozen: the types are spelled out here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_suspension"
down_revision: str | Sequence[str] | None = "0004_monitor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("warden_grants") as batch:
        batch.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("suspend_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("warden_grants") as batch:
        batch.drop_column("suspend_reason")
        batch.drop_column("suspended_at")
