"""Deals from a CRM, with their notes and the people involved."""

from __future__ import annotations

import hashlib

from pydantic import Field

from records.base import Record, UtcDatetime
from records.ticket import Note, SourceRef


class Contact(Record):
    """A person at the client (or a stakeholder) attached to a deal or ticket."""

    external_id: str | None = None
    name: str
    email: str | None = None
    title: str | None = Field(default=None, description="Job title as the CRM holds it.")
    company: str | None = None


class Deal(Record):
    """A CRM deal/opportunity with its notes (calls, meetings, e-mails) and contacts."""

    source: str = Field(min_length=1)
    external_id: str = Field(min_length=1)
    name: str = ""
    description: str = ""
    company: str | None = None
    stage: str | None = None
    amount: float | None = None
    currency: str | None = None
    owner: str | None = None
    close_date: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    url: str | None = None
    deleted: bool = False
    contacts: list[Contact] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)

    @property
    def ref(self) -> SourceRef:
        """This deal's source reference."""
        return SourceRef(source=self.source, kind="deal", external_id=self.external_id,
                         url=self.url)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()
