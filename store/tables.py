"""SQLModel table classes: the SQL shape of fixedit's store. Never leaves the store package.

Datetimes are stored timezone-aware (`TIMESTAMP WITH TIME ZONE` on PostgreSQL) through
`UtcDateTime`, which also hands them back UTC-aware on SQLite, where the driver returns naive
values. Sources are referenced by name without a foreign key so rows from a source that was
renamed or removed from the config stay readable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Deterministic constraint names: Alembic batch mode on SQLite and later migrations need them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATUSES = ("running", "succeeded", "failed")
"""The states of a sync run."""


def utcnow() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def nul_free(value: str | None) -> str | None:
    """Replace NUL characters, which PostgreSQL text columns refuse (raw payloads carry them)."""
    return None if value is None else value.replace("\x00", "\ufffd")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware datetime column that always returns UTC-aware values."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Reject naive datetimes and store UTC (SQLite keeps the wall time only)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        """Attach UTC to SQLite's naive values; normalise PostgreSQL's to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_type=UtcDateTime,
        nullable=nullable,
        index=index,
    )


def _text(*, nullable: bool = False, default: str | None = None) -> Any:
    return Field(
        default=None if nullable else (default if default is not None else ...),
        sa_type=sa.Text,
        nullable=nullable,
    )


def _name(*, nullable: bool = False, index: bool = False, default: str | None = None) -> Any:
    return Field(
        default=None if nullable else (default if default is not None else ...),
        sa_type=sa.String,
        nullable=nullable,
        index=index,
    )


class SourceRow(SQLModel, table=True):
    """A configured source (a PSA, CRM or file import) by its config name."""

    __tablename__ = "sources"

    name: str = Field(sa_type=sa.String, primary_key=True)
    kind: str = _name()
    created_at: datetime = _when()


class SyncStateRow(SQLModel, table=True):
    """The stored cursor of one source and item kind."""

    __tablename__ = "sync_state"

    source: str = Field(sa_type=sa.String, primary_key=True)
    kind: str = Field(sa_type=sa.String, primary_key=True)
    cursor_value: str = _text()
    cursor_slice: str | None = _text(nullable=True)
    updated_at: datetime = _when()


class SyncRunRow(SQLModel, table=True):
    """One sync run of a source and kind: what it saw, what it changed, how it ended."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed')", name="status"
        ),
        sa.Index("ix_sync_runs_source_kind", "source", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = _name()
    kind: str = _name()
    started_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)
    status: str = _name(default="running")
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    extracted: int = 0
    deleted: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    cursor_before: str | None = _text(nullable=True)
    cursor_after: str | None = _text(nullable=True)
    error: str | None = _text(nullable=True)


class TicketRow(SQLModel, table=True):
    """A raw ticket as pulled: denormalised columns for filtering plus the full JSON payload."""

    __tablename__ = "tickets"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = _name()
    external_id: str = _name()
    title: str = _text(default="")
    company: str | None = _text(nullable=True)
    status: str | None = _text(nullable=True)
    board: str | None = _text(nullable=True)
    assignee: str | None = _text(nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when(index=True)
    closed_at: datetime | None = _when(nullable=True)
    deleted_at: datetime | None = _when(nullable=True)
    content_hash: str = _name()
    payload: str = _text()
    extracted_hash: str | None = _name(nullable=True)
    extracted_version: str | None = _name(nullable=True)


class DealRow(SQLModel, table=True):
    """A raw CRM deal as pulled: denormalised columns plus the full JSON payload."""

    __tablename__ = "deals"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = _name()
    external_id: str = _name()
    name: str = _text(default="")
    company: str | None = _text(nullable=True)
    stage: str | None = _text(nullable=True)
    amount: float | None = Field(default=None, nullable=True)
    currency: str | None = _name(nullable=True)
    owner: str | None = _text(nullable=True)
    close_date: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when(index=True)
    deleted_at: datetime | None = _when(nullable=True)
    content_hash: str = _name()
    payload: str = _text()
    extracted_hash: str | None = _name(nullable=True)
    extracted_version: str | None = _name(nullable=True)


class NoteRow(SQLModel, table=True):
    """One note of a ticket or of a deal (exactly one of the two parents is set)."""

    __tablename__ = "notes"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "external_id"),
        sa.UniqueConstraint("deal_id", "external_id"),
        sa.CheckConstraint(
            "(ticket_id IS NULL) <> (deal_id IS NULL)", name="one_parent"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(
        default=None, foreign_key="tickets.id", ondelete="CASCADE", nullable=True
    )
    deal_id: int | None = Field(
        default=None, foreign_key="deals.id", ondelete="CASCADE", nullable=True
    )
    external_id: str = _name()
    kind: str = _name()
    author: str | None = _text(nullable=True)
    author_role: str = _name()
    created_at: datetime = _when()
    minutes: float | None = Field(default=None, nullable=True)
    text: str = _text(default="")


class ResolutionRow(SQLModel, table=True):
    """The Resolution extracted from one ticket: filter columns, search text and its JSON."""

    __tablename__ = "resolutions"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(
        foreign_key="tickets.id", ondelete="CASCADE", unique=True, nullable=False
    )
    source: str = _name()
    external_id: str = _name()
    title: str = _text(default="")
    problem: str | None = _text(nullable=True)
    category: str = _name(index=True)
    outcome: str = _name()
    confidence: float
    usable: bool = Field(index=True)
    company: str | None = _text(nullable=True)
    board: str | None = _text(nullable=True)
    technician: str | None = _text(nullable=True)
    closed_at: datetime | None = _when(nullable=True)
    extractor_version: str = _name()
    created_at: datetime = _when()
    updated_at: datetime = _when(index=True)
    search_text: str = Field(
        sa_type=sa.Text,
        description="Lower-cased tokens of the searchable fields, space-padded.",
    )
    search_length: int = Field(description="Number of tokens in search_text.")
    context_text: str = Field(
        default="",
        sa_type=sa.Text,
        sa_column_kwargs={"server_default": ""},
        description="The ticket's own words (description and notes, redacted, cleaned, capped):"
                    " the lookup index's low-weight context field.",
    )
    payload: str = _text()


class EvidenceRow(SQLModel, table=True):
    """One evidence span behind one field (or list item) of a resolution."""

    __tablename__ = "evidence"

    id: int | None = Field(default=None, primary_key=True)
    resolution_id: int = Field(
        foreign_key="resolutions.id", ondelete="CASCADE", index=True, nullable=False
    )
    field_name: str = _name()
    item_index: int = Field(description="Position in the list field; 0 for single fields.")
    evidence_field: str = _name()
    note_id: str | None = _name(nullable=True)
    start: int
    end: int
    text: str = _text(default="")


class QuarantineRow(SQLModel, table=True):
    """A record that failed validation, kept with the reason and the raw payload."""

    __tablename__ = "quarantine"
    __table_args__ = (sa.Index("ix_quarantine_source_kind", "source", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = _name()
    kind: str = _name()
    external_id: str | None = _name(nullable=True)
    reason: str = _text()
    payload: str = _text(default="")
    run_id: int | None = Field(
        default=None, foreign_key="sync_runs.id", ondelete="SET NULL", nullable=True
    )
    created_at: datetime = _when()


API_SCOPES = ("read", "write", "admin")
"""What an API key may do: read (lookup, search), write (+ feedback), admin (+ metrics, keys)."""


class ApiKeyRow(SQLModel, table=True):
    """An API key: only its SHA-256 digest is kept; the secret is shown once, at creation."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(
        sa_type=sa.String, unique=True, nullable=False,
        description="The key's public first characters, shown in listings and logs.",
    )
    digest: str = Field(sa_type=sa.String, unique=True, nullable=False)
    name: str = _text(default="")
    scope: str = _name()
    company: str | None = _text(nullable=True)
    created_at: datetime = _when()
    last_used_at: datetime | None = _when(nullable=True)
    revoked_at: datetime | None = _when(nullable=True)


class LookupRow(SQLModel, table=True):
    """One lookup served (API, MCP, suggestion job or CLI): what reuse metrics count.

    The query text itself is not kept; only its outcome.
    """

    __tablename__ = "lookups"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = _name(index=True)
    key_id: int | None = Field(
        default=None, foreign_key="api_keys.id", ondelete="SET NULL", nullable=True
    )
    company: str | None = _text(nullable=True)
    matches: int = Field(default=0)
    top_score: float | None = Field(default=None, nullable=True)
    top_resolution_id: int | None = Field(
        default=None, foreign_key="resolutions.id", ondelete="SET NULL", nullable=True
    )
    confident: bool = Field(default=False)
    created_at: datetime = _when(index=True)


class FeedbackRow(SQLModel, table=True):
    """A person's or agent's verdict on one suggested resolution: helped or did not."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    resolution_id: int = Field(
        foreign_key="resolutions.id", ondelete="CASCADE", index=True, nullable=False
    )
    lookup_id: int | None = Field(
        default=None, foreign_key="lookups.id", ondelete="SET NULL", nullable=True
    )
    key_id: int | None = Field(
        default=None, foreign_key="api_keys.id", ondelete="SET NULL", nullable=True
    )
    helpful: bool
    comment: str | None = _text(nullable=True)
    created_at: datetime = _when()


SUGGESTION_STATUSES = ("posted", "dry_run", "no_match", "failed")
"""What the suggestion job did for one new ticket."""


class SuggestionRow(SQLModel, table=True):
    """The suggestion job's record for one newly opened ticket, so it is handled only once."""

    __tablename__ = "suggestions"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(
        foreign_key="tickets.id", ondelete="CASCADE", unique=True, nullable=False
    )
    lookup_id: int | None = Field(
        default=None, foreign_key="lookups.id", ondelete="SET NULL", nullable=True
    )
    status: str = _name()
    resolution_ids: str = _text(default="[]")
    detail: str | None = _text(nullable=True)
    created_at: datetime = _when()
