"""Count deletions found by id reconciliation on each sync run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add sync_runs.deleted."""
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("deleted", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop sync_runs.deleted."""
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("deleted")
