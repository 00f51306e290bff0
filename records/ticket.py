"""Tickets and their notes: what every PSA connector and the file import produce.

The JSON form of `Ticket` is fixedit's public import format (see README, "Import format").
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from records.base import Record, UtcDatetime


class SourceRef(Record):
    """Points at one item in one configured source: (source name, kind, external id)."""

    source: str = Field(min_length=1, description="Name of the configured source.")
    kind: Literal["ticket", "deal"] = "ticket"
    external_id: str = Field(min_length=1, description="The item's id in the source system.")
    url: str | None = Field(default=None, description="Link back to the item in the source UI.")


class NoteKind(StrEnum):
    """Where a note sits in the ticket's conversation."""

    DESCRIPTION = "description"
    DISCUSSION = "discussion"
    INTERNAL = "internal"
    RESOLUTION = "resolution"
    TIME_ENTRY = "time_entry"
    CUSTOMER_REPLY = "customer_reply"


class AuthorRole(StrEnum):
    """Who wrote a note."""

    TECHNICIAN = "technician"
    CONTACT = "contact"
    SYSTEM = "system"


class CustomField(Record):
    """A PSA custom field / UDF, normalised to key, label and value."""

    key: str
    label: str | None = None
    value: str | None = None


class Note(Record):
    """One note, e-mail, time entry or action on a ticket (or a deal)."""

    external_id: str = Field(min_length=1)
    kind: NoteKind = NoteKind.DISCUSSION
    author: str | None = None
    author_role: AuthorRole = AuthorRole.TECHNICIAN
    created_at: UtcDatetime
    text: str = ""
    minutes: float | None = Field(default=None, ge=0, description="Time logged, for time entries.")

    @field_validator("text")
    @classmethod
    def _strip_nul(cls, value: str) -> str:
        # Some PSAs (ConnectWise) return NUL bytes inside note text; PostgreSQL rejects them.
        return value.replace("\x00", "")


class Ticket(Record):
    """A support ticket with every note and time entry, as pulled from a PSA or imported."""

    source: str = Field(min_length=1)
    external_id: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    company: str | None = None
    contact: str | None = None
    assignee: str | None = None
    board: str | None = Field(default=None, description="Board, queue or team.")
    priority: str | None = None
    status: str | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    closed_at: UtcDatetime | None = None
    url: str | None = None
    deleted: bool = False
    custom_fields: list[CustomField] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)

    @field_validator("title", "description")
    @classmethod
    def _strip_nul(cls, value: str) -> str:
        return value.replace("\x00", "")

    @model_validator(mode="after")
    def _unique_note_ids(self) -> Ticket:
        seen: set[str] = set()
        for note in self.notes:
            if note.external_id in seen:
                raise ValueError(f"notes: duplicate external_id {note.external_id!r}")
            seen.add(note.external_id)
        return self

    @property
    def ref(self) -> SourceRef:
        """This ticket's source reference."""
        return SourceRef(source=self.source, kind="ticket", external_id=self.external_id,
                         url=self.url)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON: equal hashes mean nothing the extractor sees changed."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()
