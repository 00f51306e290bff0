"""Initial schema: sources, sync state and runs, tickets, deals, notes, resolutions, evidence,
quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table of the store."""
    op.create_table(
        "sources",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sources")),
    )
    op.create_table(
        "sync_state",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("cursor_value", sa.Text(), nullable=False),
        sa.Column("cursor_slice", sa.Text(), nullable=True),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("source", "kind", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        _when("started_at"),
        _when("finished_at", nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("extracted", sa.Integer(), nullable=False),
        sa.Column("cursor_before", sa.Text(), nullable=True),
        sa.Column("cursor_after", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')",
                           name=op.f("ck_sync_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index("ix_sync_runs_source_kind", "sync_runs", ["source", "kind"])

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("board", sa.Text(), nullable=True),
        sa.Column("assignee", sa.Text(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _when("closed_at", nullable=True),
        _when("deleted_at", nullable=True),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("extracted_hash", sa.String(), nullable=True),
        sa.Column("extracted_version", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("source", "external_id",
                            name=op.f("uq_tickets_source_external_id")),
    )
    op.create_index(op.f("ix_tickets_updated_at"), "tickets", ["updated_at"])

    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        _when("close_date", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _when("deleted_at", nullable=True),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("extracted_hash", sa.String(), nullable=True),
        sa.Column("extracted_version", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_deals_source_external_id")),
    )
    op.create_index(op.f("ix_deals_updated_at"), "deals", ["updated_at"])

    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("author_role", sa.String(), nullable=False),
        _when("created_at"),
        sa.Column("minutes", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.CheckConstraint("(ticket_id IS NULL) <> (deal_id IS NULL)",
                           name=op.f("ck_notes_one_parent")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_notes_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], ondelete="CASCADE",
                                name=op.f("fk_notes_deal_id_deals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        sa.UniqueConstraint("ticket_id", "external_id",
                            name=op.f("uq_notes_ticket_id_external_id")),
        sa.UniqueConstraint("deal_id", "external_id", name=op.f("uq_notes_deal_id_external_id")),
    )

    op.create_table(
        "resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("usable", sa.Boolean(), nullable=False),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("board", sa.Text(), nullable=True),
        _when("closed_at", nullable=True),
        sa.Column("extractor_version", sa.String(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("search_length", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_resolutions_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolutions")),
        sa.UniqueConstraint("source", "external_id",
                            name=op.f("uq_resolutions_source_external_id")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_resolutions_ticket_id")),
    )
    op.create_index(op.f("ix_resolutions_category"), "resolutions", ["category"])
    op.create_index(op.f("ix_resolutions_usable"), "resolutions", ["usable"])

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resolution_id", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("evidence_field", sa.String(), nullable=False),
        sa.Column("note_id", sa.String(), nullable=True),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["resolution_id"], ["resolutions.id"], ondelete="CASCADE",
                                name=op.f("fk_evidence_resolution_id_resolutions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    op.create_index(op.f("ix_evidence_resolution_id"), "evidence", ["resolution_id"])

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"], ondelete="SET NULL",
                                name=op.f("fk_quarantine_run_id_sync_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index("ix_quarantine_source_kind", "quarantine", ["source", "kind"])


def downgrade() -> None:
    """Drop every table of the store."""
    for table in ("quarantine", "evidence", "resolutions", "notes", "deals", "tickets",
                  "sync_runs", "sync_state", "sources"):
        op.drop_table(table)
