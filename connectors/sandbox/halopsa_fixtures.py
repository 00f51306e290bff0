"""Renders the ticket corpus as HaloPSA payloads: `fixtures/halopsa/{tickets,actions}.json`.

The files hold what Halo would answer: `tickets.json` is an unpaged `GET /api/Tickets` response
(`{"record_count": n, "tickets": [...]}`), `actions.json` one `GET /api/Actions?ticket_id=`
response per ticket, system actions included (the emulation drops them for `excludesys=true`).
`malformed.json` is sandbox metadata, not a Halo payload: the two tickets rendered broken on
purpose, which a trustworthy connector must quarantine. The output is deterministic.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from records import AuthorRole, Note, NoteKind, Ticket

MIN_TICKETS = 160
"""A corpus smaller than this is padded with re-dated copies at other companies."""
FIRST_TICKET_ID = 10001
DEFAULT_AGENT = "Service Desk"
"""The agent a technician note without an author is put under."""
EMPTY_DATE = "1900-01-01T00:00:00"
"""How Halo writes "no date"."""
BAD_CREATED_AT = "2024-02-30T09:15:00"
"""February 30th: the `dateoccurred` of the first malformed ticket."""
BAD_TIMETAKEN = -0.25
"""A negative time entry: the `timetaken` of one action of the second malformed ticket."""

_TWIN_COMPANIES = (
    "Brightwater Dental Group", "Copperline Logistics", "Summit Ridge Veterinary",
    "Elmstead Property Management", "Tidewater Marine Supply", "Oakhurst Montessori School",
    "Granite Peak Engineering", "Bluestem Credit Union",
)
_OUTCOME_IDS = {"Ticket Logged": 1, "Email User": 2, "Email Received": 3, "Phone Call": 4,
                "Remote Session": 5, "On-site Visit": 6, "Private Note": 7, "Resolved": 8,
                "Status Change": 9}
_STATUS_IDS = {"new": 1, "in progress": 2, "waiting vendor": 5, "waiting on vendor": 5,
               "closed": 9, "completed": 9}
_STATUS_NAMES = {1: "New", 2: "In Progress", 5: "With Supplier", 9: "Closed"}
_LOOKS_LIKE_HTML = re.compile(r"<(?:html|body|div|p|br|table)\b", re.IGNORECASE)


@dataclass
class HaloPayloads:
    """Everything `build_fixtures` writes, as Python objects."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    malformed: list[dict[str, Any]] = field(default_factory=list)


def build_fixtures(tickets: list[Ticket], out: Path) -> dict[str, int]:
    """Render `tickets` as HaloPSA payload files (and a README) into the folder `out`.

    Returns what was written: tickets, notes (non-system actions), time entries, malformed.
    """
    payloads = render(tickets)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "tickets.json", {"record_count": len(payloads.tickets),
                                       "tickets": payloads.tickets})
    _write_json(out / "actions.json", payloads.actions)
    _write_json(out / "malformed.json", {"tickets": payloads.malformed})
    (out / "README.md").write_text(readme(payloads), encoding="utf-8")
    notes = [a for listing in payloads.actions for a in listing["actions"]
             if not a["action_systemid"]]
    return {"tickets": len(payloads.tickets), "notes": len(notes),
            "time entries": sum(1 for a in notes if a["timetaken"]),
            "malformed": len(payloads.malformed)}


def render(tickets: list[Ticket]) -> HaloPayloads:
    """The Halo payloads for `tickets` (padded to MIN_TICKETS), ids in creation order."""
    if not tickets:
        raise ValueError("the corpus is empty: nothing to render")
    corpus = sorted(_padded(tickets), key=lambda t: (t.created_at, t.external_id))
    ids = _Ids(corpus)
    payloads = HaloPayloads()
    for index, ticket in enumerate(corpus):
        style = index % 3
        halo_id = FIRST_TICKET_ID + index
        payloads.tickets.append(_ticket(ticket, halo_id, ids, style))
        actions = _actions(ticket, halo_id, ids, style)
        payloads.actions.append({"ticket_id": halo_id, "record_count": len(actions),
                                 "actions": actions})
    _break_two(payloads)
    return payloads


def _padded(tickets: list[Ticket]) -> list[Ticket]:
    padded = list(tickets)
    for number in range(max(0, MIN_TICKETS - len(tickets))):
        original = tickets[number % len(tickets)]
        shift = timedelta(days=35 + 7 * (number // len(tickets)), hours=number % 5)
        padded.append(original.model_copy(update={
            "external_id": f"{original.external_id}-twin{number}",
            "company": _TWIN_COMPANIES[number % len(_TWIN_COMPANIES)],
            "created_at": original.created_at + shift,
            "updated_at": original.updated_at + shift,
            "closed_at": original.closed_at + shift if original.closed_at else None,
            "notes": [n.model_copy(update={"created_at": n.created_at + shift})
                      for n in original.notes],
        }))
    return padded


class _Ids:
    """Stable Halo ids for the companies, contacts, agents and custom fields of the corpus."""

    def __init__(self, corpus: list[Ticket]) -> None:
        agents = {t.assignee for t in corpus} | {DEFAULT_AGENT} | {
            n.author for t in corpus for n in t.notes if n.author_role is AuthorRole.TECHNICIAN}
        self.clients = _numbered({t.company for t in corpus}, 12)
        self.users = _numbered({t.contact for t in corpus}, 301)
        self.agents = _numbered(agents, 3)
        self.fields = _numbered({f.key for t in corpus for f in t.custom_fields}, 140)


def _numbered(names: set[str | None], first: int) -> dict[str, int]:
    return {name: first + n for n, name in enumerate(sorted(x for x in names if x))}


def _stamp(moment: datetime | None, style: int) -> str:
    """Halo's inconsistent timestamp forms: with Z, naive with milliseconds, naive."""
    if moment is None:
        return EMPTY_DATE
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(moment.second * 37) % 1000:03d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _html(text: str) -> str:
    if _LOOKS_LIKE_HTML.search(text):
        return text  # an HTML e-mail body arrives in Halo as it was sent
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _status_id(ticket: Ticket) -> int:
    if ticket.closed_at is not None:
        return 9
    return _STATUS_IDS.get((ticket.status or "").strip().lower(), 2)


def _priority_id(ticket: Ticket) -> int:
    text = (ticket.priority or "").lower()
    for word, number in (("critical", 1), ("high", 2), ("low", 4)):
        if word in text:
            return number
    return 3


def _ticket(ticket: Ticket, halo_id: int, ids: _Ids, style: int) -> dict[str, Any]:
    description = ticket.description or next(
        (n.text for n in ticket.notes if n.kind is NoteKind.DESCRIPTION), "")
    last = max([ticket.updated_at, *(n.created_at for n in ticket.notes)])
    status = _status_id(ticket)
    return {
        "id": halo_id,
        "dateoccurred": _stamp(ticket.created_at, style),
        "summary": ticket.title,
        "details": _html(description),
        "status_id": status,
        "tickettype_id": 1,
        "sla_id": 1,
        "priority_id": _priority_id(ticket),
        "client_id": ids.clients.get(ticket.company or "", 0),
        "client_name": ticket.company or "",
        "site_id": ids.clients.get(ticket.company or "", 0) + 6,
        "site_name": "Main",
        "user_id": ids.users.get(ticket.contact or "", 0),
        "user_name": ticket.contact or "",
        "agent_id": ids.agents.get(ticket.assignee or "", 0),
        "agent_name": ticket.assignee or "",
        "team": ticket.board or "",
        "category_1": "",
        "onhold": False,
        "inactive": False,
        "lastactiondate": _stamp(max([ticket.created_at, *(n.created_at for n in ticket.notes)]),
                                 style),
        "last_update": _stamp(last, style),
        "datecleared": _stamp(ticket.closed_at if status == 9 else None, style),
        "fixbydate": EMPTY_DATE,
        "deadlinedate": EMPTY_DATE,
        "customfields": [
            {"id": ids.fields[f.key], "name": "CF" + _camel(f.label or f.key),
             "label": f.label or f.key, "type": 0, "value": f.value or "",
             "display": f.value or ""}
            for f in ticket.custom_fields
        ],
    }


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _actions(ticket: Ticket, halo_id: int, ids: _Ids, style: int) -> list[dict[str, Any]]:
    notes = sorted((n for n in ticket.notes if n.kind is not NoteKind.DESCRIPTION),
                   key=lambda n: n.created_at)
    logged = next((n for n in notes if n.author_role is AuthorRole.SYSTEM
                   and n.text.lower().startswith("ticket created")), None)
    first = {"id": 1, "ticket_id": halo_id, "outcome": "Ticket Logged", "outcome_id": 1,
             "who": "System", "who_type": 0, "who_agentid": 0, "actionby_user_id": 0,
             "action_systemid": 1, "datetime": _stamp(ticket.created_at, style),
             "actiondatecreated": _stamp(ticket.created_at, style),
             "note": logged.text if logged else "Ticket logged", "note_html": "",
             "hiddenfromuser": True, "important": False, "timetaken": 0.0,
             "actisbillable": False, "old_status": 0, "new_status": 1,
             "new_status_name": "New", "attachment_count": 0}
    actions, status = [first], 1
    for note in notes:
        if note is logged:
            continue
        action, status = _action(note, ticket, len(actions) + 1, halo_id, ids, style, status)
        actions.append(action)
    return actions


def _action(note: Note, ticket: Ticket, action_id: int, halo_id: int, ids: _Ids, style: int,
            status: int) -> tuple[dict[str, Any], int]:
    kind, role = note.kind, note.author_role
    outcome, hidden, new_status, system = "Private Note", True, status, 0
    who = note.author or ticket.assignee or DEFAULT_AGENT
    if role is AuthorRole.SYSTEM:
        outcome, system = "Status Change", 2
        if "to closed" in note.text.lower() or "auto-resolved" in note.text.lower():
            new_status = 9
        who = "System"
    elif role is AuthorRole.CONTACT or kind is NoteKind.CUSTOMER_REPLY:
        outcome, hidden = "Email Received", False
        who = note.author or ticket.contact or "End User"
    elif kind is NoteKind.RESOLUTION:
        outcome, hidden = "Resolved", False
        new_status = 9 if _status_id(ticket) == 9 else status
    elif kind is NoteKind.TIME_ENTRY:
        outcome = _time_outcome(note.text)
    elif kind is NoteKind.DISCUSSION:
        outcome, hidden = "Email User", False
    if role is AuthorRole.TECHNICIAN and status == 1 and new_status == 1:
        new_status = 2
    agent = ids.agents.get(who, 0) if role is AuthorRole.TECHNICIAN else 0
    user = ids.users.get(who, 0) if outcome == "Email Received" else 0
    action = {
        "id": action_id, "ticket_id": halo_id, "outcome": outcome,
        "outcome_id": _OUTCOME_IDS[outcome], "who": who,
        "who_type": 1 if agent else (2 if user or outcome == "Email Received" else 0),
        "who_agentid": agent, "actionby_user_id": user, "action_systemid": system,
        "datetime": _stamp(note.created_at, style),
        "actiondatecreated": _stamp(note.created_at + timedelta(seconds=action_id), style),
        "note": note.text, "note_html": _html(note.text), "hiddenfromuser": hidden,
        "important": False, "timetaken": round((note.minutes or 0) / 60, 6),
        "actisbillable": bool(note.minutes), "old_status": status, "new_status": new_status,
        "new_status_name": _STATUS_NAMES.get(new_status, "In Progress"), "attachment_count": 0,
    }
    return action, new_status


def _time_outcome(text: str) -> str:
    lowered = text.lower()
    if any(word in lowered for word in ("onsite", "on site", "on-site", "drove")):
        return "On-site Visit"
    if any(word in lowered for word in ("called", "phone", "call ")):
        return "Phone Call"
    return "Remote Session"


def _break_two(payloads: HaloPayloads) -> None:
    """Break exactly two tickets the way real tenants do, and record which and how."""
    bad_date = payloads.tickets[16]
    bad_date["dateoccurred"] = BAD_CREATED_AT
    payloads.malformed.append({"id": bad_date["id"], "field": "dateoccurred",
                               "why": "February 30th: not a valid date"})
    for listing in payloads.actions[80:]:
        timed = [a for a in listing["actions"] if a["timetaken"] > 0 and not a["action_systemid"]]
        if timed:
            timed[0]["timetaken"] = BAD_TIMETAKEN
            payloads.malformed.append({
                "id": listing["ticket_id"], "field": f"actions[id={timed[0]['id']}].timetaken",
                "why": "negative time taken: a time entry cannot last less than nothing"})
            return
    raise ValueError("no ticket after the 80th has a time entry to break")


def readme(payloads: HaloPayloads) -> str:
    """fixtures/halopsa/README.md: what the files are, their counts, and the two broken tickets."""
    actions = [a for listing in payloads.actions for a in listing["actions"]]
    notes = [a for a in actions if not a["action_systemid"]]
    timed = [a for a in notes if a["timetaken"]]
    several = sum(1 for listing in payloads.actions
                  if sum(1 for a in listing["actions"] if not a["action_systemid"]) >= 3)
    broken = "\n".join(f"- ticket {m['id']}: `{m['field']}`: {m['why']}"
                       for m in payloads.malformed)
    return f"""# HaloPSA fixtures

Recorded-shape HaloPSA API payloads, rendered from the hand-written corpus
(`fixtures/tickets.jsonl`, `fixtures/tickets.csv`, `fixtures/corpus/*.jsonl`). The sandbox's
HaloPSA emulation (`connectors/sandbox/halopsa.py`) serves them over HTTP.

Generated: do not edit by hand. Rebuild every vendor with `python -m connectors.sandbox.build`,
or just this one with `python -m connectors.sandbox.halopsa`.

| file | what it is |
|---|---|
| `tickets.json` | an unpaged `GET /api/Tickets` response: `{{"record_count", "tickets"}}` |
| `actions.json` | one `GET /api/Actions?ticket_id=N` response per ticket, system actions included |
| `malformed.json` | sandbox metadata (not a Halo payload): the two tickets broken on purpose |

Counts:

- {len(payloads.tickets)} tickets ({several} with three or more notes)
- {len(actions)} actions: {len(notes)} notes a connector reads with `excludesys=true`
  ({len(timed)} of them carry time) and {len(actions) - len(notes)} system actions

Halo quirks reproduced: integer ticket ids in creation order; action ids that restart at 1
on every ticket (so a note's id is `<ticket id>-<action id>`); `details` and `note_html` as
HTML next to the plain `note`; timestamps with a `Z`, without one, and with milliseconds;
`1900-01-01T00:00:00` for empty dates (`datecleared` of open tickets, `fixbydate`,
`deadlinedate`); `status_id` 9 = Closed; the closing action carries `outcome` "Resolved" and
`new_status` 9; `hiddenfromuser` on private notes and time entries; `timetaken` in hours;
`customfields` as `{{id, name, label, value, display}}`. Tickets padded past the corpus (to
{MIN_TICKETS}) are re-dated copies at other companies.

## Deliberately malformed tickets (a connector must quarantine them, not stop)

{broken}

No credentials are stored here: the sandbox's client id and secret are fixed, fake values in
`connectors/sandbox/halopsa.py`.
"""


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
