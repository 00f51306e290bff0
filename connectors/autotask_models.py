"""Autotask REST payloads as vendor-private models, and their pure mapping onto `records.Ticket`.

Field names are Autotask's own (`queueID`, `createDateTime`), so a model reads like the vendor's
entity pages. Every model ignores fields it does not name: Autotask adds fields with releases
and returns every UDF of the entity on every record.

How a ticket's conversation maps onto notes (Autotask REST entities Tickets, TicketNotes and
TimeEntries; picklist values from `TicketNotes/entityInformation/fields`):

    TicketNotes, noteType a system type (workflow rule, RMM, BDR, ...)  -> internal, system
    TicketNotes with createdByContactID (e-mailed in, Client Portal)   -> customer_reply, contact
    TicketNotes, publish 1 "All Autotask Users" (customer visible)     -> discussion, technician
    TicketNotes, any other publish ("Internal Project Team", ...)      -> internal, technician
    TimeEntries: summaryNotes + internalNotes, hoursWorked -> minutes  -> time_entry, technician
    Tickets.resolution (the dedicated field)                           -> resolution, technician

Times are UTC (Autotask Tickets entity page); a timestamp without an offset is read as UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from connectors.rejects import validation_reason
from records import AuthorRole, CustomField, Note, NoteKind, Reject, Ticket

SYSTEM_NOTE_TYPES = frozenset({13, 15, 16, 17, 91, 92, 93, 94, 95, 99, 100})
"""TicketNotes noteType values Autotask itself writes: workflow rule notes (13, 91), duplicate and
outsourcing notes (15, 16), surveys (17), forward/merge/absorb/copy notes (92-95), RMM (99) and
BDR (100) alerts. Tenants add their own types, but these system ones are fixed."""

PUBLISH_ALL_USERS = 1
"""TicketNotes publish "All Autotask Users": the note is visible to the customer (Client Portal).
The internal values are 2 "Internal Project Team" and 4 "Internal & Co-Managed"."""

MAX_NOTE_CHARS = 32_000
"""TicketNotes.description holds at most this many characters."""


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


AtDatetime = Annotated[datetime, AfterValidator(_as_utc)]
"""An Autotask timestamp: ISO 8601, UTC, usually with milliseconds."""


class AutotaskModel(BaseModel):
    """Base of the vendor models: frozen, unknown fields ignored, numbers accepted as text."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class ZoneInformation(AutotaskModel):
    """`GET .../zoneInformation?user=`: where this API user's database lives."""

    url: str
    webUrl: str | None = None
    zoneName: str | None = None
    ci: int | None = None


class PicklistValue(AutotaskModel):
    """One entry of a picklist: the stored value (as text) and the label users see."""

    value: str
    label: str
    isActive: bool = True


class EntityField(AutotaskModel):
    """One field of `{Entity}/entityInformation/fields`."""

    name: str
    isPickList: bool = False
    picklistValues: list[PicklistValue] | None = None


class EntityFields(AutotaskModel):
    """The `{Entity}/entityInformation/fields` response."""

    fields: list[EntityField]

    def picklists(self) -> dict[str, dict[str, str]]:
        """Picklist labels by field name, then by stored value."""
        return {
            entry.name: {item.value: item.label for item in entry.picklistValues or ()}
            for entry in self.fields if entry.isPickList
        }


class UserDefinedField(AutotaskModel):
    """A UDF as records carry it: Autotask lists every UDF of the entity, unset ones as null."""

    name: str
    value: str | None = None


class AtTicket(AutotaskModel):
    """An item of `Tickets/query`: the fields fixedit reads."""

    id: int
    ticketNumber: str | None = None
    title: str | None = None
    description: str | None = None
    resolution: str | None = None
    status: int | None = None
    priority: int | None = None
    queueID: int | None = None
    issueType: int | None = None
    subIssueType: int | None = None
    companyID: int | None = None
    contactID: int | None = None
    assignedResourceID: int | None = None
    completedByResourceID: int | None = None
    createDate: AtDatetime
    lastActivityDate: AtDatetime
    completedDate: AtDatetime | None = None
    resolvedDateTime: AtDatetime | None = None
    userDefinedFields: list[UserDefinedField] = []


class AtNote(AutotaskModel):
    """An item of `TicketNotes/query`."""

    id: int
    ticketID: int
    title: str | None = None
    description: str | None = None
    noteType: int | None = None
    publish: int | None = None
    createDateTime: AtDatetime
    creatorResourceID: int | None = None
    createdByContactID: int | None = None


class AtTimeEntry(AutotaskModel):
    """An item of `TimeEntries/query` (ticket time: `ticketID` is set)."""

    id: int
    ticketID: int
    resourceID: int | None = None
    summaryNotes: str | None = None
    internalNotes: str | None = None
    hoursWorked: float | None = None
    dateWorked: AtDatetime | None = None
    startDateTime: AtDatetime | None = None
    createDateTime: AtDatetime | None = None


class AtResource(AutotaskModel):
    """An item of `Resources/query` (a technician)."""

    id: int
    firstName: str | None = None
    lastName: str | None = None


class AtContact(AutotaskModel):
    """An item of `Contacts/query` (a person at a client)."""

    id: int
    firstName: str | None = None
    lastName: str | None = None


class AtCompany(AutotaskModel):
    """An item of `Companies/query` (a client)."""

    id: int
    companyName: str | None = None


def person_name(first: str | None, last: str | None) -> str | None:
    """`First Last` of a resource or contact, None when both are blank."""
    name = " ".join(part.strip() for part in (first, last) if part and part.strip())
    return name or None


@dataclass(frozen=True)
class Lookups:
    """Names and picklist labels the mapping needs, resolved by the connector beforehand."""

    resources: Mapping[int, str | None] = field(default_factory=dict)
    companies: Mapping[int, str | None] = field(default_factory=dict)
    contacts: Mapping[int, str | None] = field(default_factory=dict)
    picklists: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def label(self, field_name: str, value: int | None) -> str | None:
        """The picklist label of `value`; the number itself when the picklist lacks it."""
        if value is None:
            return None
        return self.picklists.get(field_name, MappingProxyType({})).get(str(value), str(value))

    @staticmethod
    def name(names: Mapping[int, str | None], key: int | None) -> str | None:
        """The name `key` resolves to, or None."""
        return None if key is None else names.get(key)


def note_external_id(note_id: int) -> str:
    """The external id of a TicketNote: its Autotask id."""
    return str(note_id)


def time_entry_external_id(entry_id: int) -> str:
    """The external id of a TimeEntry: its id in its own id space, prefixed so it never clashes."""
    return f"time-{entry_id}"


def resolution_external_id(ticket_id: int) -> str:
    """The external id of the note made from a ticket's `resolution` field."""
    return f"resolution-{ticket_id}"


def ticket_url(web_url: str | None, ticket_id: int) -> str | None:
    """The ticket's page in the Autotask UI, from the zone's `webUrl`."""
    if not web_url:
        return None
    return f"{web_url.rstrip('/')}/Mvc/ServiceDesk/TicketDetail.mvc?ticketId={ticket_id}"


def note_of(note: AtNote, lookups: Lookups) -> Note:
    """A TicketNote as a records.Note (kind and author role from noteType, contact and publish)."""
    author = Lookups.name(lookups.resources, note.creatorResourceID)
    if note.noteType in SYSTEM_NOTE_TYPES:
        kind, role = NoteKind.INTERNAL, AuthorRole.SYSTEM
    elif note.createdByContactID is not None:
        kind, role = NoteKind.CUSTOMER_REPLY, AuthorRole.CONTACT
        author = Lookups.name(lookups.contacts, note.createdByContactID)
    elif note.publish == PUBLISH_ALL_USERS:
        kind, role = NoteKind.DISCUSSION, AuthorRole.TECHNICIAN
    else:
        kind, role = NoteKind.INTERNAL, AuthorRole.TECHNICIAN
    return Note(external_id=note_external_id(note.id), kind=kind, author=author, author_role=role,
                created_at=note.createDateTime, text=note.description or note.title or "")


def time_entry_of(entry: AtTimeEntry, lookups: Lookups, *, fallback: datetime) -> Note:
    """A TimeEntry as a time_entry note; `fallback` stamps an entry that carries no time."""
    parts = [text for text in (entry.summaryNotes, entry.internalNotes) if text and text.strip()]
    minutes = None if entry.hoursWorked is None else round(entry.hoursWorked * 60, 2)
    created = entry.createDateTime or entry.startDateTime or entry.dateWorked or fallback
    return Note(external_id=time_entry_external_id(entry.id), kind=NoteKind.TIME_ENTRY,
                author=Lookups.name(lookups.resources, entry.resourceID),
                author_role=AuthorRole.TECHNICIAN, created_at=created,
                text="\n\n".join(parts), minutes=minutes)


def resolution_note(ticket: AtTicket, lookups: Lookups) -> Note | None:
    """The ticket's `resolution` field as a resolution note, or None when it is blank."""
    if not ticket.resolution or not ticket.resolution.strip():
        return None
    when = ticket.resolvedDateTime or ticket.completedDate or ticket.lastActivityDate
    return Note(external_id=resolution_external_id(ticket.id), kind=NoteKind.RESOLUTION,
                author=Lookups.name(lookups.resources, ticket.completedByResourceID),
                author_role=AuthorRole.TECHNICIAN, created_at=when, text=ticket.resolution)


def custom_fields_of(ticket: AtTicket, lookups: Lookups) -> list[CustomField]:
    """Ticket number, issue types and every UDF that has a value, as CustomFields."""
    fields: list[CustomField] = []
    if ticket.ticketNumber:
        fields.append(CustomField(key="ticketNumber", label="Ticket Number",
                                  value=ticket.ticketNumber))
    for name, label in (("issueType", "Issue Type"), ("subIssueType", "Sub-Issue Type")):
        value = lookups.label(name, getattr(ticket, name))
        if value is not None:
            fields.append(CustomField(key=name, label=label, value=value))
    for udf in ticket.userDefinedFields:
        if udf.value is not None and udf.value.strip():
            fields.append(CustomField(key=udf.name, label=udf.name, value=udf.value))
    return fields


def children_of(
    ticket: AtTicket,
    notes: Iterable[AtNote],
    entries: Iterable[AtTimeEntry],
    lookups: Lookups,
) -> tuple[list[Note], list[Reject]]:
    """The notes and time entries of one ticket as records.Notes; one that fails is a Reject."""
    mapped: list[Note] = []
    rejects: list[Reject] = []
    for note in notes:
        try:
            mapped.append(note_of(note, lookups))
        except ValidationError as exc:
            rejects.append(_child_reject(ticket.id, f"TicketNotes {note.id}", exc, note))
    for entry in entries:
        try:
            mapped.append(time_entry_of(entry, lookups, fallback=ticket.createDate))
        except ValidationError as exc:
            rejects.append(_child_reject(ticket.id, f"TimeEntries {entry.id}", exc, entry))
    return mapped, rejects


def to_ticket(
    ticket: AtTicket,
    notes: Iterable[Note],
    lookups: Lookups,
    *,
    source: str,
    web_url: str | None,
) -> Ticket:
    """An Autotask ticket, its mapped notes and its resolution field as one records.Ticket.

    Raises pydantic.ValidationError when the result breaks the contract.
    """
    all_notes = list(notes)
    resolution = resolution_note(ticket, lookups)
    if resolution is not None:
        all_notes.append(resolution)
    all_notes.sort(key=lambda note: (note.created_at, note.kind == NoteKind.RESOLUTION,
                                     note.external_id))
    return Ticket(
        source=source,
        external_id=str(ticket.id),
        title=ticket.title or "",
        description=ticket.description or "",
        company=Lookups.name(lookups.companies, ticket.companyID),
        contact=Lookups.name(lookups.contacts, ticket.contactID),
        assignee=Lookups.name(lookups.resources, ticket.assignedResourceID),
        board=lookups.label("queueID", ticket.queueID),
        priority=lookups.label("priority", ticket.priority),
        status=lookups.label("status", ticket.status),
        created_at=ticket.createDate,
        updated_at=ticket.lastActivityDate,
        closed_at=ticket.completedDate,
        url=ticket_url(web_url, ticket.id),
        custom_fields=custom_fields_of(ticket, lookups),
        notes=all_notes,
    )


M = TypeVar("M", bound=AutotaskModel)


def parse_items(
    model: type[M], raws: Iterable[Any], what: str, *, parent: str | None = None
) -> tuple[list[M], list[Reject]]:
    """Validate raw items as `model`; each one that fails becomes a Reject naming its id.

    `parent` names the field holding the parent ticket's id (children are quarantined under
    their ticket's id, the reason names the child).
    """
    parsed: list[M] = []
    rejects: list[Reject] = []
    for raw in raws:
        try:
            parsed.append(model.model_validate(raw))
        except ValidationError as exc:
            own_id = raw.get("id") if isinstance(raw, dict) else None
            key = raw.get(parent) if parent and isinstance(raw, dict) else own_id
            rejects.append(Reject(
                external_id=None if key is None else str(key),
                reason=f"{what} {own_id if own_id is not None else '(no id)'}: "
                       f"{validation_reason(exc)}",
                payload=payload_text(raw),
            ))
    return parsed, rejects


def payload_text(raw: Any) -> str:
    """A raw payload as the JSON text a Reject keeps."""
    if isinstance(raw, BaseModel):
        return raw.model_dump_json()
    return json.dumps(raw, ensure_ascii=False, default=str)


def _child_reject(ticket_id: int, what: str, exc: ValidationError, raw: AutotaskModel) -> Reject:
    return Reject(external_id=str(ticket_id),
                  reason=f"ticket {ticket_id}: {what}: {validation_reason(exc)}",
                  payload=payload_text(raw))
