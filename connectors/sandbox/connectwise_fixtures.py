"""Render the ticket corpus as ConnectWise PSA payloads (fixtures/connectwise/), and clone them.

`build_fixtures` writes what the vendor's endpoints return, one JSON array per endpoint:
`tickets.json` (GET /service/tickets), `all_notes.json` (every ticket's GET .../allNotes, each
element naming its `ticket`), `time_entries.json` (GET /time/entries), `company_info.json`
(GET /login/companyinfo/{companyId}), plus `manifest.json` (counts, the deliberately malformed
tickets) and a README. Everything is deterministic: the same corpus gives the same bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.sandbox.connectwise_readme import fixtures_readme
from records import AuthorRole, Note, NoteKind, Ticket

MIN_TICKETS = 160
"""Valid tickets the fixtures hold at least: corpus tickets are rendered twice to get there."""
COMPANY_ID = "northgate"
CODEBASE = "v2024_1/"
COMPANY_INFO = {"CompanyName": "Northgate IT", "Codebase": CODEBASE, "VersionCode": "v2024.1",
                "VersionNumber": "v4.6.110422", "CompanyID": COMPANY_ID, "IsCloud": True,
                "SiteUrl": "na.myconnectwise.net"}
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_COPY_SHIFT = timedelta(days=45)
_MALFORMED_SHIFT = timedelta(days=10)
_BULK_EDIT = 3
"""Tickets given one shared `_info.lastUpdated`, as an admin's bulk status change leaves them."""


def stamp(moment: datetime) -> str:
    """ConnectWise's datetime format: UTC with a Z, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slug(name: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", name))


def _identifier(name: str) -> str:
    words = re.findall(r"[A-Za-z]+", name)
    if len(words) < 2:
        return name.lower().replace(" ", "")
    return (words[0][0] + words[-1]).lower()


@dataclass
class _Directory:
    """Ids for the people, companies and lookup values the payloads reference."""

    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    lookups: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    custom: dict[str, int] = field(default_factory=dict)

    def company(self, name: str) -> dict[str, Any]:
        entry = self.companies.setdefault(name, {"id": 19300 + 7 * len(self.companies),
                                                 "identifier": _slug(name), "name": name})
        return dict(entry)

    def member(self, name: str) -> dict[str, Any]:
        entry = self.members.setdefault(name, {"id": 150 + 3 * len(self.members),
                                               "identifier": _identifier(name), "name": name})
        return dict(entry)

    def contact(self, company: str, name: str) -> dict[str, Any]:
        entry = self.contacts.setdefault((company, name), {"id": 912 + 11 * len(self.contacts),
                                                           "name": name})
        return dict(entry)

    def lookup(self, kind: str, name: str) -> dict[str, Any]:
        count = sum(1 for key in self.lookups if key[0] == kind)
        entry = self.lookups.setdefault((kind, name), {"id": 1 + 2 * count, "name": name})
        return dict(entry)

    def custom_field(self, key: str) -> int:
        return self.custom.setdefault(key, 5 + len(self.custom))


@dataclass
class _Ids:
    """Deterministic id sequences with the small gaps a busy PSA leaves."""

    ticket: int = 48000
    note: int = 1_204_000
    entry: int = 330_400
    meeting: int = 88_000
    step: int = 0

    def next(self, name: str) -> int:
        self.step += 1
        value = getattr(self, name) + 1 + (self.step * 37) % 4
        setattr(self, name, value)
        return value


@dataclass
class Rendered:
    """The payloads of one build."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    malformed: dict[int, str] = field(default_factory=dict)
    copies: int = 0


def _shifted(ticket: Ticket, delta: timedelta, **changes: Any) -> Ticket:
    notes = [n.model_copy(update={"created_at": n.created_at + delta}) for n in ticket.notes]
    return ticket.model_copy(update={
        "created_at": ticket.created_at + delta, "updated_at": ticket.updated_at + delta,
        "closed_at": ticket.closed_at + delta if ticket.closed_at else None,
        "notes": notes, **changes})


def _plan(corpus: list[Ticket]) -> tuple[list[Ticket], int, list[Ticket]]:
    """The tickets to render: the corpus, copies up to MIN_TICKETS, and two to corrupt."""
    companies = sorted({t.company for t in corpus if t.company})
    contact_of: dict[str, str] = {}
    for ticket in corpus:
        if ticket.company and ticket.contact:
            contact_of.setdefault(ticket.company, ticket.contact)
    copies: list[Ticket] = []
    for index in range(max(0, MIN_TICKETS - len(corpus))):
        source = corpus[index % len(corpus)]
        company = companies[(companies.index(source.company) + 1) % len(companies)] \
            if source.company in companies else source.company
        copies.append(_shifted(source, _COPY_SHIFT * (1 + index // len(corpus)),
                               company=company, contact=contact_of.get(company or "")))
    bad = [_shifted(corpus[i % len(corpus)], _MALFORMED_SHIFT) for i in (4, 10)]
    return copies, len(copies), bad


def _note_author(dirs: _Directory, ticket: Ticket, note: Note) -> dict[str, Any]:
    """`member` / `contact` / system keys of a note, by who wrote it."""
    name = note.author or ticket.assignee or "Help Desk"
    if note.author_role is AuthorRole.CONTACT:
        return {"contact": dirs.contact(ticket.company or "", name), "createdBy": "EmailConnector"}
    if note.author_role is AuthorRole.SYSTEM:
        return {"createdBy": "zAdmin", "originalAuthor": name}
    member = dirs.member(name)
    return {"member": member, "createdBy": member["identifier"]}


def _ticket_note(ids: _Ids, ref: dict[str, Any], when: datetime, text: str,
                 author: dict[str, Any], *, flag: str, note_type: str = "TicketNote",
                 span: timedelta | None = None) -> dict[str, Any]:
    note: dict[str, Any] = {
        "id": ids.next("meeting" if note_type == "MeetingNote" else "note"),
        "noteType": note_type, "ticket": ref, "text": text, "isMarkdownFlag": False,
        "detailDescriptionFlag": flag == "detail", "internalAnalysisFlag": flag == "internal",
        "resolutionFlag": flag == "resolution", "issueFlag": False, "bundledFlag": False,
        "mergedFlag": False, **author,
    }
    if span is None:
        note["dateCreated"] = stamp(when)
    else:
        note["timeStart"], note["timeEnd"] = stamp(when - span), stamp(when)
    note["_info"] = {"lastUpdated": stamp(when),
                     "updatedBy": author.get("createdBy", "zAdmin")}
    return note


def _time_entry(ids: _Ids, dirs: _Directory, ticket: Ticket, ref: dict[str, Any], note: Note,
                internal: Note | None) -> tuple[dict[str, Any], dict[str, Any]]:
    member = dirs.member(note.author or ticket.assignee or "Help Desk")
    minutes = note.minutes or 0.0
    start, end = note.created_at - timedelta(minutes=minutes), note.created_at
    onsite = "onsite" in note.text.lower()
    updated = internal.created_at if internal is not None else end
    entry: dict[str, Any] = {
        "id": ids.next("entry"), "company": dirs.company(ticket.company or "Northgate IT"),
        "chargeToId": ref["id"], "chargeToType": "ServiceTicket",
        "member": {"id": member["id"], "identifier": member["identifier"]},
        "locationId": 2, "businessUnitId": 10,
        "workType": dirs.lookup("workType", "Onsite" if onsite else "Remote Support"),
        "workRole": dirs.lookup("workRole", "Help Desk Tech"),
        "timeStart": stamp(start), "timeEnd": stamp(end), "hoursDeduct": 0.0,
        "actualHours": round(minutes / 60, 2), "billableOption": "Billable",
        "notes": note.text, "addToDetailDescriptionFlag": True,
        "addToInternalAnalysisFlag": False, "addToResolutionFlag": False,
        "status": "Billed" if ticket.closed_at else "Open", "ticket": ref,
        "enteredBy": member["identifier"], "dateEntered": stamp(end),
        "_info": {"lastUpdated": stamp(updated), "updatedBy": member["identifier"]},
    }
    if internal is not None:
        entry["internalNotes"] = internal.text
    listed = {"id": entry["id"], "noteType": "TimeEntryNote", "ticket": ref, "text": note.text,
              "isMarkdownFlag": False, "detailDescriptionFlag": True,
              "internalAnalysisFlag": False, "resolutionFlag": False, "issueFlag": False,
              "timeStart": stamp(start), "timeEnd": stamp(end), "bundledFlag": False,
              "mergedFlag": False, "member": member,
              "_info": {"lastUpdated": stamp(updated), "updatedBy": member["identifier"]}}
    return entry, listed


def _is_call(note: Note) -> bool:
    """A technician's logged phone call: rendered as a MeetingNote (a scheduled activity)."""
    return (note.kind in (NoteKind.INTERNAL, NoteKind.DISCUSSION)
            and note.author_role is AuthorRole.TECHNICIAN
            and note.text.lower().startswith(("called ", "spoke with ")))


def _folds(notes: list[Note], index: int) -> bool:
    """Whether notes[index] is an internal note typed on the time entry just before it."""
    if not 0 < index < len(notes):
        return False
    before, note = notes[index - 1], notes[index]
    return (before.kind is NoteKind.TIME_ENTRY and note.kind is NoteKind.INTERNAL
            and not _is_call(note)
            and note.author_role is AuthorRole.TECHNICIAN and before.author == note.author
            and note.created_at - before.created_at <= timedelta(hours=1))


_FLAGS = {NoteKind.DESCRIPTION: "detail", NoteKind.DISCUSSION: "detail",
          NoteKind.CUSTOMER_REPLY: "detail", NoteKind.INTERNAL: "internal",
          NoteKind.RESOLUTION: "resolution"}


def _render_notes(ids: _Ids, dirs: _Directory, ticket: Ticket, ref: dict[str, Any],
                  out: Rendered) -> list[dict[str, Any]]:
    """allNotes for one ticket (appending its time entries to `out`)."""
    notes: list[dict[str, Any]] = []
    if ticket.description.strip():
        emailed = any(n.author_role is AuthorRole.CONTACT for n in ticket.notes)
        author_name = ticket.contact if emailed and ticket.contact else ticket.assignee
        role = AuthorRole.CONTACT if emailed and ticket.contact else AuthorRole.TECHNICIAN
        opener = Note(external_id="0", author=author_name, author_role=role,
                      created_at=ticket.created_at)
        notes.append(_ticket_note(ids, ref, ticket.created_at, ticket.description,
                                  _note_author(dirs, ticket, opener), flag="detail"))
    for index, note in enumerate(ticket.notes):
        if _folds(ticket.notes, index):
            continue
        if note.kind is NoteKind.TIME_ENTRY:
            internal = ticket.notes[index + 1] if _folds(ticket.notes, index + 1) else None
            entry, listed = _time_entry(ids, dirs, ticket, ref, note, internal)
            out.entries.append(entry)
            notes.append(listed)
            continue
        author = _note_author(dirs, ticket, note)
        if _is_call(note):
            notes.append(_ticket_note(ids, ref, note.created_at, note.text, author,
                                      flag=_FLAGS[note.kind], note_type="MeetingNote",
                                      span=timedelta(minutes=15)))
            continue
        notes.append(_ticket_note(ids, ref, note.created_at, note.text, author,
                                  flag=_FLAGS[note.kind]))
    return notes


def _render_ticket(ids: _Ids, dirs: _Directory, ticket: Ticket, out: Rendered) -> dict[str, Any]:
    ticket_id = ids.next("ticket")
    summary = ticket.title[:100]
    ref = {"id": ticket_id, "summary": summary}
    company = ticket.company or "Northgate IT"
    notes = _render_notes(ids, dirs, ticket, ref, out)
    out.notes.extend(notes)
    hours = sum(n.minutes or 0.0 for n in ticket.notes if n.kind is NoteKind.TIME_ENTRY) / 60
    owner = dirs.member(ticket.assignee) if ticket.assignee else None
    texts = " ".join(n.text.lower() for n in ticket.notes if n.author_role is AuthorRole.SYSTEM)
    source = "Email Connector" if "email" in texts else "Alert" if "alert" in texts else "Phone"
    last = notes[-1] if notes else None
    payload: dict[str, Any] = {
        "id": ticket_id, "summary": summary, "recordType": "ServiceTicket",
        "board": dirs.lookup("board", ticket.board or "Service Desk"),
        "status": dirs.lookup("status", ticket.status or "New"),
        "company": dirs.company(company), "site": {"id": 1000 + dirs.company(company)["id"] % 97,
                                                   "name": "Main"},
        "priority": dirs.lookup("priority", ticket.priority or "Priority 3 - Normal"),
        "severity": "Medium", "impact": "Medium",
        "source": dirs.lookup("source", source),
        "closedFlag": ticket.closed_at is not None, "actualHours": round(hours, 2),
    }
    if ticket.contact:
        contact = dirs.contact(company, ticket.contact)
        payload["contact"], payload["contactName"] = contact, ticket.contact
        local = ".".join(re.findall(r"[a-z]+", ticket.contact.lower())) or "contact"
        payload["contactEmailAddress"] = f"{local}@{_slug(company).lower()}.example"
    if owner is not None:
        payload["owner"] = owner
    if ticket.closed_at is not None:
        closer = owner["identifier"] if owner else "zAdmin"
        payload.update(closedDate=stamp(ticket.closed_at), closedBy=closer,
                       dateResolved=stamp(ticket.closed_at),
                       resolveMinutes=int((ticket.closed_at - ticket.created_at).total_seconds()
                                          // 60))
    payload["customFields"] = [
        {"id": dirs.custom_field(cf.key), "caption": cf.label or cf.key, "type": "Text",
         "entryMethod": "EntryField", "numberOfDecimals": 0, "value": cf.value}
        for cf in ticket.custom_fields]
    entered_by = (owner or {}).get("identifier", "zAdmin") if source == "Phone" \
        else "EmailConnector"
    payload["_info"] = {"lastUpdated": stamp(ticket.updated_at),
                        "updatedBy": (last or {}).get("_info", {}).get("updatedBy", "zAdmin"),
                        "dateEntered": stamp(ticket.created_at), "enteredBy": entered_by}
    return payload


def render(corpus: list[Ticket]) -> Rendered:
    """The corpus (with copies and two malformed tickets) as ConnectWise payloads."""
    if not corpus:
        raise ValueError("the corpus is empty: nothing to render")
    copies, copy_count, bad = _plan(corpus)
    everything = [(t, None) for t in corpus + copies] + [
        (t, defect) for t, defect in zip(bad, ("no dateEntered", "naive closedDate"), strict=True)]
    everything.sort(key=lambda pair: (pair[0].created_at, pair[0].external_id, pair[1] or ""))
    out, ids, dirs = Rendered(copies=copy_count), _Ids(), _Directory()
    for ticket, defect in everything:
        payload = _render_ticket(ids, dirs, ticket, out)
        if defect == "no dateEntered":
            del payload["_info"]["dateEntered"]
        elif defect == "naive closedDate":
            moment = ticket.closed_at or ticket.updated_at
            payload.update(closedFlag=True, closedDate=moment.strftime("%Y-%m-%dT%H:%M:%S"))
        if defect:
            out.malformed[payload["id"]] = defect
        out.tickets.append(payload)
    _bulk_edit(out)
    _nul_bytes(out)
    return out


def _bulk_edit(out: Rendered) -> None:
    """Three closed tickets share one lastUpdated second: records on a cursor boundary."""
    closed = [t for t in out.tickets if t.get("closedFlag") and t["id"] not in out.malformed]
    chosen = closed[len(closed) // 2: len(closed) // 2 + _BULK_EDIT]
    if not chosen:
        return
    when = max(t["_info"]["lastUpdated"] for t in chosen)
    for ticket in chosen:
        ticket["_info"].update(lastUpdated=when, updatedBy="zAdmin")


def _nul_bytes(out: Rendered) -> None:
    """Two e-mailed replies carry a NUL byte, as ConnectWise's email connector leaves them."""
    replies = [n for n in out.notes if "contact" in n and n["text"]]
    for note in replies[2:8:5]:
        text = note["text"]
        note["text"] = text.replace("\n", "\x00\n", 1) if "\n" in text else text + "\x00"


def build_fixtures(tickets: list[Ticket], out: Path) -> None:
    """Write the corpus as ConnectWise payloads into `out` (fixtures/connectwise/)."""
    rendered = render(tickets)
    out.mkdir(parents=True, exist_ok=True)
    files = {"tickets.json": rendered.tickets, "all_notes.json": rendered.notes,
             "time_entries.json": rendered.entries, "company_info.json": COMPANY_INFO}
    for name, payload in files.items():
        _write_json(out / name, payload)
    counts = {"tickets": len(rendered.tickets),
              "valid_tickets": len(rendered.tickets) - len(rendered.malformed),
              "corpus_tickets": len(tickets), "copied_tickets": rendered.copies,
              "all_notes": len(rendered.notes), "time_entries": len(rendered.entries),
              **{f"notes_{kind}": sum(1 for n in rendered.notes if n["noteType"] == kind)
                 for kind in ("TicketNote", "TimeEntryNote", "MeetingNote")}}
    manifest = {"counts": counts,
                "malformed_tickets": {str(k): v for k, v in sorted(rendered.malformed.items())}}
    _write_json(out / "manifest.json", manifest)
    readme = fixtures_readme(counts, rendered.malformed, company_id=COMPANY_ID, codebase=CODEBASE,
                             min_tickets=MIN_TICKETS)
    (out / "README.md").write_text(readme, encoding="utf-8")


def _write_json(path: Path, payload: Any) -> None:
    text = json.dumps(payload, indent=1, ensure_ascii=False, sort_keys=False)
    path.write_text(text + "\n", encoding="utf-8")


def shift_payload(value: Any, delta: timedelta) -> Any:
    """A deep copy of a payload with every `...Z` timestamp string moved by `delta`."""
    if isinstance(value, dict):
        return {key: shift_payload(item, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [shift_payload(item, delta) for item in value]
    if isinstance(value, str) and len(value) == 20 and value[10] == "T" and _STAMP.match(value):
        moment = datetime.fromisoformat(value[:19]).replace(tzinfo=UTC)
        return stamp(moment + delta)
    return value  # numbers, booleans, None and other strings are immutable
