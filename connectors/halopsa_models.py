"""HaloPSA payloads as Halo sends them, and the pure mapping from them to `records.Ticket`.

Vendor quirks handled here (see the reference notes on HaloPSA, section 1.3):

- Halo writes "no date" as 1900-01-01 (or earlier): any year up to 1980 reads as empty.
- Timestamps come with and without a trailing Z; naive ones are read in the source's zone (UTC
  unless configured).
- Actions are Halo's one container for notes, e-mails and time (`timetaken`, in hours); their ids
  are only unique per ticket, so a note's external id is "<ticket id>-<action id>".
- The closing action (`new_status` moving to a closed status, or a resolving outcome) is the
  de-facto resolution.

Unknown fields are ignored (`extra="ignore"`), so new Halo fields never break a sync.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from connectors.rejects import validation_reason
from records import AuthorRole, CustomField, Note, NoteKind, PayloadError, Ticket

EMPTY_DATE_YEAR = 1980
"""Halo's "empty" dates are 1900-01-01 or earlier; anything up to this year is treated as empty."""

DEFAULT_STATUSES: dict[int, str] = {
    1: "New", 2: "In Progress", 3: "Action Required", 4: "With User", 5: "With Supplier",
    9: "Closed",
}
"""Status names of a default Halo setup; tenants rename and add statuses (setting `statuses`)."""

DEFAULT_PRIORITIES: dict[int, str] = {1: "Critical", 2: "High", 3: "Medium", 4: "Low"}
"""Priority names of a default Halo setup (setting `priorities`)."""


def _empty_date(value: datetime | None) -> datetime | None:
    if value is not None and value.year <= EMPTY_DATE_YEAR:
        return None
    return value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


HaloTime = Annotated[datetime | None, BeforeValidator(_blank_is_none), AfterValidator(_empty_date)]
"""A Halo timestamp: ISO 8601 with or without Z; 1900-01-01 and blanks read as None."""


class _HaloModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class HaloCustomField(_HaloModel):
    """One entry of a ticket's `customfields` list."""

    id: int | None = None
    name: str | None = None
    label: str | None = None
    value: Any = None
    display: str | None = None


class HaloTicket(_HaloModel):
    """A ticket as `GET /api/Tickets` lists it."""

    id: int
    summary: str | None = None
    details: str | None = None
    client_name: str | None = None
    user_name: str | None = None
    agent_name: str | None = None
    team: str | None = None
    status_id: int | None = None
    priority_id: int | None = None
    dateoccurred: HaloTime = None
    last_update: HaloTime = None
    lastactiondate: HaloTime = None
    datecleared: HaloTime = None
    dateclosed: HaloTime = None
    closure_note: str | None = None
    customfields: list[HaloCustomField] = Field(default_factory=list)


class HaloAction(_HaloModel):
    """One action (note, e-mail, time entry, status change) from `GET /api/Actions`."""

    id: int
    ticket_id: int | None = None
    outcome: str | None = None
    who: str | None = None
    who_agentid: int | None = None
    actionby_user_id: int | None = None
    action_systemid: int | None = None
    datetime: HaloTime = None
    actiondatecreated: HaloTime = None
    note: str | None = None
    note_html: str | None = None
    hiddenfromuser: bool = False
    timetaken: float | None = None
    old_status: int | None = None
    new_status: int | None = None


@dataclass(frozen=True)
class MappingOptions:
    """What the mapping needs to know about one source: its name, zone, and status meanings."""

    source: str
    zone: tzinfo
    ui_base: str | None = None
    closed_statuses: frozenset[int] = frozenset({9})
    resolution_outcomes: frozenset[str] = frozenset({"resolved", "resolution"})
    statuses: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_STATUSES))
    priorities: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))


def parse_ticket(raw: Any) -> HaloTicket:
    """Validate one listed ticket; PayloadError naming the id and field when it is malformed."""
    try:
        return HaloTicket.model_validate(raw)
    except ValidationError as exc:
        ticket_id = _raw_id(raw)
        label = f"ticket {ticket_id}" if ticket_id is not None else "ticket without an id"
        raise PayloadError(f"{label}: {validation_reason(exc)}", external_id=ticket_id) from exc


def parse_actions(ticket_id: str, rows: Sequence[Any]) -> list[HaloAction]:
    """Validate a ticket's actions; PayloadError naming ticket, action and field if one fails."""
    actions = []
    for position, raw in enumerate(rows):
        try:
            actions.append(HaloAction.model_validate(raw))
        except ValidationError as exc:
            action_id = _raw_id(raw) or f"#{position}"
            raise PayloadError(
                f"ticket {ticket_id}: action {action_id}: {validation_reason(exc)}",
                external_id=ticket_id,
            ) from exc
    return actions


def to_ticket(ticket: HaloTicket, actions: Sequence[HaloAction], options: MappingOptions) -> Ticket:
    """The records.Ticket for a Halo ticket and its actions (pure; raises PayloadError)."""
    tid = str(ticket.id)
    created = _aware(ticket.dateoccurred, options.zone)
    updated = _aware(ticket.last_update or ticket.lastactiondate, options.zone)
    if created is None:
        raise PayloadError(f"ticket {tid}: dateoccurred: empty or missing", external_id=tid)
    if updated is None:
        raise PayloadError(f"ticket {tid}: last_update: empty or missing", external_id=tid)
    closed = ticket.status_id in options.closed_statuses
    notes = [to_note(tid, action, options) for action in actions]
    closure = (ticket.closure_note or "").strip()
    if closure and not any(note.kind is NoteKind.RESOLUTION for note in notes):
        notes.append(Note(external_id=f"{tid}-closure", kind=NoteKind.RESOLUTION,
                          created_at=_aware(ticket.datecleared, options.zone) or updated,
                          text=closure))
    try:
        return Ticket(
            source=options.source,
            external_id=tid,
            title=ticket.summary or "",
            description=ticket.details or "",
            company=_text(ticket.client_name),
            contact=_text(ticket.user_name),
            assignee=_text(ticket.agent_name),
            board=_text(ticket.team),
            priority=_named(ticket.priority_id, options.priorities, "priority"),
            status=_named(ticket.status_id, options.statuses, "status"),
            created_at=created,
            updated_at=updated,
            closed_at=_aware(ticket.datecleared or ticket.dateclosed, options.zone)
            if closed else None,
            url=f"{options.ui_base}/tickets?id={tid}" if options.ui_base else None,
            custom_fields=[_custom_field(item) for item in ticket.customfields],
            notes=notes,
        )
    except ValidationError as exc:
        raise PayloadError(f"ticket {tid}: {validation_reason(exc)}", external_id=tid) from exc


def to_note(ticket_id: str, action: HaloAction, options: MappingOptions) -> Note:
    """The records.Note for one action: kind, author and role from Halo's flags."""
    note_id = f"{ticket_id}-{action.id}"
    created = _aware(action.datetime or action.actiondatecreated, options.zone)
    if created is None:
        raise PayloadError(f"ticket {ticket_id}: action {action.id}: datetime: empty or missing",
                           external_id=ticket_id)
    kind, role = _classify(action, options)
    hours = action.timetaken or 0.0
    try:
        return Note(
            external_id=note_id,
            kind=kind,
            author=_text(action.who),
            author_role=role,
            created_at=created,
            text=action.note or action.note_html or "",
            minutes=round(hours * 60, 2) if hours else None,
        )
    except ValidationError as exc:
        raise PayloadError(
            f"ticket {ticket_id}: action {action.id} (timetaken={action.timetaken!r}): "
            f"{validation_reason(exc)}",
            external_id=ticket_id,
        ) from exc


def _classify(action: HaloAction, options: MappingOptions) -> tuple[NoteKind, AuthorRole]:
    """Note kind and author role: system, end user, closing, time, hidden, else discussion."""
    if action.action_systemid:
        return NoteKind.INTERNAL, AuthorRole.SYSTEM
    if not action.who_agentid:
        return NoteKind.CUSTOMER_REPLY, AuthorRole.CONTACT
    closes = (action.new_status in options.closed_statuses
              and action.old_status not in options.closed_statuses)
    if closes or (action.outcome or "").strip().lower() in options.resolution_outcomes:
        return NoteKind.RESOLUTION, AuthorRole.TECHNICIAN
    if action.timetaken:
        return NoteKind.TIME_ENTRY, AuthorRole.TECHNICIAN
    if action.hiddenfromuser:
        return NoteKind.INTERNAL, AuthorRole.TECHNICIAN
    return NoteKind.DISCUSSION, AuthorRole.TECHNICIAN


def _custom_field(item: HaloCustomField) -> CustomField:
    key = item.name or (str(item.id) if item.id is not None else "")
    value = item.display if item.display not in (None, "") else item.value
    if value is not None and not isinstance(value, str):
        value = str(value)
    return CustomField(key=_text(key) or "unnamed", label=_text(item.label), value=_text(value))


def _text(value: str | None) -> str | None:
    """An optional display string without NUL bytes (PostgreSQL refuses them); blank is None."""
    cleaned = (value or "").replace("\x00", "").strip()
    return cleaned or None


def _named(value: int | None, names: Mapping[int, str], what: str) -> str | None:
    if value is None:
        return None
    return names.get(value, f"{what} {value}")


def _aware(value: datetime | None, zone: tzinfo) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _raw_id(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        value = raw.get("id")
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None
