"""ConnectWise PSA payloads: vendor-private models, the `conditions` language, and pure mapping.

Nothing here does I/O. `connectors.connectwise` fetches the JSON; this module validates it into
the models below (unknown fields ignored, so a new vendor field never breaks a sync) and maps a
ticket, its `allNotes` and its time entries onto one `records.Ticket`.

How ConnectWise notes become `records.Note`s (flags as the UI tabs show them):

    allNotes TicketNote   resolutionFlag           -> resolution
                          internalAnalysisFlag     -> internal
                          detailDescriptionFlag    -> description (the first one), else
                                                      customer_reply (written by a contact), else
                                                      discussion
    allNotes MeetingNote  the same flags (no description); id "meeting-<id>"
    /time/entries         one time_entry note "time-<id>" with minutes, plus an internal note
                          "time-<id>-internal" when `internalNotes` has text; the allNotes
                          TimeEntryNote of the same entry (same id, or same member and
                          timeStart/timeEnd) is not repeated
    allNotes TimeEntryNote without its time entry (no access to /time/entries): time_entry note

Author role: a `member` wrote it -> technician; a `contact` -> contact; neither -> system.
Note text stays as ConnectWise holds it (HTML included); `records.Note` strips NUL bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from records import AuthorRole, CustomField, Note, NoteKind, Ticket, UtcDatetime

SERVICE_TICKET = "ServiceTicket"
"""The `chargeToType` of time entries logged against service tickets."""

NOTE_ID_PREFIX = {"TicketNote": "", "MeetingNote": "meeting-", "TimeEntryNote": "time-"}
"""allNotes types live in separate id spaces: a prefix keeps note external ids unique."""


def cw_datetime(moment: datetime) -> str:
    """A datetime as a `conditions` literal: `[2024-05-01T00:00:00Z]` (UTC, to the second)."""
    return "[" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "]"


def cw_string(value: str) -> str:
    """A string as a `conditions` literal: double-quoted, with `"` and `\\` backslash-escaped.

    URL encoding (a literal `+` must travel as %2B) is left to httpx, which encodes query
    parameters that way; never build the query string by hand.
    """
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cw_id_list(ids: Iterable[int]) -> str:
    """Ids as the right-hand side of an `in` condition: `(1,2,3)`."""
    return "(" + ",".join(str(int(item)) for item in ids) + ")"


def all_of(*conditions: str | None) -> str:
    """Join conditions with `and`, parenthesising each one that contains an `or`."""
    parts = []
    for condition in conditions:
        if condition is None or not condition.strip():
            continue
        text = condition.strip()
        parts.append(f"({text})" if " or " in text.lower() else text)
    return " and ".join(parts)


class CwModel(BaseModel):
    """Base of the vendor models: camelCase aliases, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True,
                              frozen=True)


class CwRef(CwModel):
    """A reference to another record (`{"id": 1, "identifier": "...", "name": "..."}`)."""

    id: int | None = None
    identifier: str | None = None
    name: str | None = None

    @property
    def label(self) -> str | None:
        """The name people know it by (name, else identifier)."""
        return self.name or self.identifier


class CwInfo(CwModel):
    """The `_info` metadata block; which stamps are present depends on the record type."""

    last_updated: UtcDatetime | None = None
    updated_by: str | None = None
    date_entered: UtcDatetime | None = None
    date_created: UtcDatetime | None = None


class CwTicketInfo(CwInfo):
    """A ticket's `_info`: ConnectWise always stamps these two, so they are required."""

    last_updated: UtcDatetime
    date_entered: UtcDatetime


class CwCustomField(CwModel):
    """One entry of `customFields`."""

    id: int
    caption: str | None = None
    type: str | None = None
    value: Any = None


class CwTicket(CwModel):
    """GET /service/tickets (model `Ticket`), the fields fixedit reads."""

    id: int
    summary: str | None = None
    record_type: str | None = None
    board: CwRef | None = None
    status: CwRef | None = None
    company: CwRef | None = None
    contact: CwRef | None = None
    contact_name: str | None = None
    owner: CwRef | None = None
    priority: CwRef | None = None
    closed_flag: bool | None = None
    closed_date: UtcDatetime | None = None
    custom_fields: list[CwCustomField] | None = None
    info: CwTicketInfo = Field(alias="_info")


class CwNote(CwModel):
    """One element of GET /service/tickets/{id}/allNotes (model `ServiceTicketNote`)."""

    id: int
    note_type: str = "TicketNote"
    text: str | None = None
    detail_description_flag: bool | None = None
    internal_analysis_flag: bool | None = None
    resolution_flag: bool | None = None
    member: CwRef | None = None
    contact: CwRef | None = None
    original_author: str | None = None
    created_by: str | None = None
    date_created: UtcDatetime | None = None
    time_start: UtcDatetime | None = None
    time_end: UtcDatetime | None = None
    info: CwInfo = Field(default_factory=CwInfo, alias="_info")

    @model_validator(mode="after")
    def _has_a_time(self) -> CwNote:
        if self.created_at is None:
            raise PydanticCustomError("missing", "dateCreated: Field required (and no timeStart "
                                      "or _info stamp either)")
        return self

    @property
    def created_at(self) -> datetime | None:
        """When the note was written: dateCreated, else its time span, else its _info stamps."""
        return (self.date_created or self.time_start or self.info.date_created
                or self.info.date_entered or self.info.last_updated)


class CwTimeEntry(CwModel):
    """One element of GET /time/entries (model `TimeEntry`), the fields fixedit reads."""

    id: int
    charge_to_id: int | None = None
    charge_to_type: str | None = None
    member: CwRef | None = None
    time_start: UtcDatetime | None = None
    time_end: UtcDatetime | None = None
    hours_deduct: float | None = None
    actual_hours: float | None = None
    notes: str | None = None
    internal_notes: str | None = None
    date_entered: UtcDatetime | None = None
    info: CwInfo = Field(default_factory=CwInfo, alias="_info")

    @model_validator(mode="after")
    def _has_a_time(self) -> CwTimeEntry:
        if (self.date_entered or self.time_start or self.info.last_updated) is None:
            raise PydanticCustomError("missing", "dateEntered: Field required (and no timeStart "
                                      "or _info.lastUpdated either)")
        return self

    @property
    def minutes(self) -> float | None:
        """Time worked: the span minus hoursDeduct, else actualHours."""
        if self.time_start is not None and self.time_end is not None:
            span = (self.time_end - self.time_start).total_seconds() / 60
            return round(max(span - (self.hours_deduct or 0.0) * 60, 0.0), 2)
        if self.actual_hours is not None:
            return round(max(self.actual_hours * 60, 0.0), 2)
        return None


class CwCompanyInfo(CwModel):
    """GET /login/companyinfo/{companyId}: where this company's API lives."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    codebase: str = Field(alias="Codebase", min_length=1)
    company_name: str | None = Field(default=None, alias="CompanyName")
    site_url: str | None = Field(default=None, alias="SiteUrl")


def _role(member: CwRef | None, contact: CwRef | None) -> AuthorRole:
    if member is not None:
        return AuthorRole.TECHNICIAN
    if contact is not None:
        return AuthorRole.CONTACT
    return AuthorRole.SYSTEM


def _author(note: CwNote) -> str | None:
    for ref in (note.member, note.contact):
        if ref is not None and ref.label:
            return ref.label
    return note.original_author or note.created_by


def _flag_kind(note: CwNote) -> NoteKind | None:
    if note.resolution_flag:
        return NoteKind.RESOLUTION
    if note.internal_analysis_flag:
        return NoteKind.INTERNAL
    return None


def _order(note: CwNote) -> tuple[datetime, int]:
    return (note.created_at or datetime.min.replace(tzinfo=UTC), note.id)


def description_note(notes: Sequence[CwNote]) -> CwNote | None:
    """The ticket's initial description: its first Discussion (detailDescriptionFlag) note."""
    candidates = [note for note in notes if note.note_type == "TicketNote"
                  and note.detail_description_flag and _flag_kind(note) is None]
    return min(candidates, key=_order) if candidates else None


def _ticket_note(note: CwNote, *, is_description: bool) -> Note:
    role = _role(note.member, note.contact)
    kind = _flag_kind(note)
    if kind is None:
        if is_description:
            kind = NoteKind.DESCRIPTION
        elif role is AuthorRole.CONTACT:
            kind = NoteKind.CUSTOMER_REPLY
        else:
            kind = NoteKind.DISCUSSION
    prefix = NOTE_ID_PREFIX.get(note.note_type, f"{note.note_type.lower()}-")
    return Note(external_id=f"{prefix}{note.id}", kind=kind, author=_author(note),
                author_role=role, created_at=note.created_at, text=note.text or "")


def _time_note(note: CwNote) -> Note:
    """An allNotes TimeEntryNote whose time entry we could not read."""
    minutes = None
    if note.time_start is not None and note.time_end is not None:
        minutes = round(max((note.time_end - note.time_start).total_seconds() / 60, 0.0), 2)
    return Note(external_id=f"time-{note.id}", kind=NoteKind.TIME_ENTRY, author=_author(note),
                author_role=_role(note.member, None), created_at=note.time_end or note.created_at,
                text=note.text or "", minutes=minutes)


def _entry_notes(entry: CwTimeEntry, listed: CwNote | None) -> list[Note]:
    author = entry.member.label if entry.member else None
    if listed is not None and listed.member is not None and listed.member.name:
        author = listed.member.name  # /time/entries references carry only the identifier
    created = entry.date_entered or entry.time_start or entry.info.last_updated
    notes = [Note(external_id=f"time-{entry.id}", kind=NoteKind.TIME_ENTRY, author=author,
                  author_role=_role(entry.member, None), created_at=created,
                  text=entry.notes or "", minutes=entry.minutes)]
    if entry.internal_notes and entry.internal_notes.strip():
        notes.append(Note(external_id=f"time-{entry.id}-internal", kind=NoteKind.INTERNAL,
                          author=author, author_role=_role(entry.member, None),
                          created_at=created, text=entry.internal_notes))
    return notes


def _span_key(member: CwRef | None, start: datetime | None,
              end: datetime | None) -> tuple[object, ...] | None:
    """Who worked when: ties an allNotes TimeEntryNote to its time entry if their ids differ."""
    if member is None or start is None or end is None:
        return None
    who = member.id if member.id is not None else (member.identifier or "").lower()
    return (who, start, end)


def to_notes(notes: Sequence[CwNote], entries: Sequence[CwTimeEntry]) -> list[Note]:
    """Every note, time entry and meeting note of one ticket as `records.Note`s, oldest first."""
    by_id = {entry.id: entry for entry in entries}
    by_span = {key: entry for entry in entries
               if (key := _span_key(entry.member, entry.time_start, entry.time_end))}
    listed_time: dict[int, CwNote] = {}
    description = description_note(notes)
    mapped: dict[str, Note] = {}
    for note in notes:
        if note.note_type == "TimeEntryNote":
            entry = by_id.get(note.id) or by_span.get(
                _span_key(note.member, note.time_start, note.time_end))
            if entry is not None:  # the time entry itself becomes the note, below
                listed_time.setdefault(entry.id, note)
                continue
            record = _time_note(note)
        else:
            record = _ticket_note(note, is_description=note is description)
        mapped.setdefault(record.external_id, record)
    for entry in entries:
        for record in _entry_notes(entry, listed_time.get(entry.id)):
            mapped.setdefault(record.external_id, record)
    return sorted(mapped.values(), key=lambda n: (n.created_at, n.external_id))


def _field_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_custom_fields(fields: Sequence[CwCustomField] | None) -> list[CustomField]:
    """`customFields` with a value, as key (the field id), label (caption) and value."""
    kept = []
    for field in fields or ():
        value = _field_value(field.value)
        if value is None or value == "":
            continue
        kept.append(CustomField(key=str(field.id), label=field.caption, value=value))
    return kept


def to_ticket(ticket: CwTicket, notes: Sequence[CwNote], entries: Sequence[CwTimeEntry], *,
              source: str, url: str | None = None) -> Ticket:
    """One ConnectWise ticket with its allNotes and time entries as a `records.Ticket`.

    Raises pydantic.ValidationError when the result breaks the contract.
    """
    description = description_note(notes)
    closed = ticket.closed_date if ticket.closed_flag else None
    return Ticket(
        source=source,
        external_id=str(ticket.id),
        title=ticket.summary or "",
        description=(description.text or "") if description is not None else "",
        company=ticket.company.label if ticket.company else None,
        contact=ticket.contact_name or (ticket.contact.label if ticket.contact else None),
        assignee=ticket.owner.label if ticket.owner else None,
        board=ticket.board.label if ticket.board else None,
        priority=ticket.priority.label if ticket.priority else None,
        status=ticket.status.label if ticket.status else None,
        created_at=ticket.info.date_entered,
        updated_at=ticket.info.last_updated,
        closed_at=closed,
        url=url,
        custom_fields=to_custom_fields(ticket.custom_fields),
        notes=to_notes(notes, entries),
    )

