"""resolutions.context_text (the ticket's own words for the lookup index), resolutions.updated_at
index (the lookup refresh scans it).

Existing rows get an empty context until their resolution is saved again; an extractor version
bump re-extracts (and so re-saves) every resolution.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    with op.batch_alter_table('resolutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context_text', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.create_index(batch_op.f('ix_resolutions_updated_at'), ['updated_at'],
                              unique=False)


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table('resolutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resolutions_updated_at'))
        batch_op.drop_column('context_text')
