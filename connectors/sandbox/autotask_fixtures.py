"""Render the ticket corpus as Autotask REST payloads: `fixtures/autotask/*.json`.

Each file holds `{"items": [...]}` as `POST /V1.0/{Entity}/query` returns them (or, for the
`*_fields.json` files, the `{Entity}/entityInformation/fields` response). Vendor shapes:
integer ids, `T20240108.0014` ticket numbers, picklist integers for status, priority, queue,
issue type and source, `userDefinedFields: [{name, value}]` listing every UDF (unset ones as
null), the dedicated `resolution` field, TicketNotes with `noteType`/`publish`, TimeEntries with
`summaryNotes`/`hoursWorked`, timestamps in UTC with milliseconds. Deterministic: the same
corpus always renders the same bytes.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.sandbox.autotask_readme import readme_text
from records import AuthorRole, Note, NoteKind, Ticket

MIN_TICKETS = 160
"""Tickets rendered at least; a smaller corpus is topped up with re-dated copies."""

FILES = {
    "Tickets": "tickets.json",
    "TicketNotes": "ticket_notes.json",
    "TimeEntries": "time_entries.json",
    "Companies": "companies.json",
    "Contacts": "contacts.json",
    "Resources": "resources.json",
}
FIELD_FILES = {"Tickets": "tickets_fields.json", "TicketNotes": "ticket_notes_fields.json"}

API_RESOURCE = {"id": 29682940, "firstName": "fixedit", "lastName": "API User",
                "email": "fixedit-api@northgateit.example",
                "userName": "fixedit-api@northgateit.example", "isActive": True,
                "resourceType": "Employee", "title": "API-only user"}
"""The API-only user's resource: notes posted through the API are stamped with it."""

STATUS = {1: "New", 5: "Complete", 7: "Waiting Customer", 8: "In Progress",
          9: "Waiting Materials", 10: "Dispatched", 11: "Escalate", 12: "Waiting Vendor",
          13: "Waiting Approval"}
PRIORITY = {1: "High", 2: "Medium", 3: "Low", 4: "Critical"}
ISSUE_TYPE = {1: "Hardware", 2: "Software", 3: "Network", 4: "Email & Collaboration",
              5: "Security", 6: "Accounts & Access", 7: "Printing & Scanning", 8: "Other"}
SOURCE = {-1: "Client Portal", 1: "Other", 2: "Phone", 4: "Email", 8: "Monitoring Alert"}
TICKET_TYPE = {1: "Service Request", 2: "Incident", 3: "Problem", 4: "Change Request", 5: "Alert"}
NOTE_TYPE = {1: "Task Summary", 2: "Task Detail", 3: "Task Notes", 13: "Workflow Rule Note",
             15: "Duplicate Ticket Note", 16: "Outsource Workflow Note", 17: "Survey",
             18: "Client Portal Note", 19: "Taskfire Note", 91: "Workflow Rule Action Note",
             92: "Forward/Modify Note", 93: "Merged into Ticket", 94: "Absorbed Another Ticket",
             95: "Copied to Project", 99: "RMM Note", 100: "BDR Note", 101: "Email Note"}
PUBLISH = {1: "All Autotask Users", 2: "Internal Project Team", 4: "Internal & Co-Managed"}
UDFS = ("Root Cause", "Billable", "Site", "Configuration Item")
_UDF_BY_KEY = {"udf_root_cause": "Root Cause", "udf_billable": "Billable", "udf_site": "Site",
               "configuration_item": "Configuration Item"}
_STATUS_BY_TEXT = {"closed": 5, "completed": 5, "complete": 5, "resolved": 5, "new": 1,
                   "in progress": 8, "waiting vendor": 12, "waiting on vendor": 12,
                   "waiting customer": 7, "escalated": 11}
_ISSUE_WORDS = (
    (7, ("print", "scan", "label", "toner", "spooler")),
    (4, ("outlook", "mail", "teams", "ost", "spf", "dkim", "calendar", "m365", "onedrive")),
    (6, ("password", "locked", "lockout", "mfa", "account", "login", "sign in", "entra")),
    (5, ("phish", "malware", "virus", "defender", "suspicious", "security")),
    (3, ("vpn", "wifi", "wi-fi", "dns", "dhcp", "network", "internet", "switch", "firewall")),
    (1, ("laptop", "monitor", "dock", "disk", "battery", "bsod", "keyboard", "ups")),
    (2, ("update", "install", "quickbooks", "dentrix", "adobe", "sage", "excel", "error")),
)
_NUMBER = re.compile(r"^T\d{8}\.\d{4}$")
_MALFORMED_CREATE_DATE = "2024-02-30T09:15:00.000Z"


def at_stamp(moment: datetime, salt: int = 0) -> str:
    """An Autotask timestamp: UTC with milliseconds (a deterministic `salt` fills them)."""
    moment = moment.astimezone(UTC).replace(microsecond=(salt * 37 % 1000) * 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _picklist_field(name: str, values: dict[int, str], *, required: bool = False) -> dict:
    return {"name": name, "dataType": "integer", "length": 0, "isRequired": required,
            "isReadOnly": False, "isQueryable": True, "isReference": False,
            "referenceEntityType": "", "isPickList": True,
            "picklistValues": [{"value": str(value), "label": label, "isDefaultValue": False,
                                "sortOrder": order, "parentValue": "", "isActive": True,
                                "isSystem": value < 1000}
                               for order, (value, label) in enumerate(values.items())],
            "picklistParentValueField": "", "isSupportedWebhookField": True}


def _plain_field(name: str, value: Any) -> dict:
    data_type = ("integer" if isinstance(value, int) and not isinstance(value, bool)
                 else "boolean" if isinstance(value, bool)
                 else "double" if isinstance(value, float) else "string")
    if name.endswith(("Date", "DateTime")):
        data_type = "datetime"
    return {"name": name, "dataType": data_type, "length": 0, "isRequired": name == "id",
            "isReadOnly": name == "id", "isQueryable": True,
            "isReference": name.endswith("ID") and name != "id",
            "referenceEntityType": "", "isPickList": False, "picklistValues": None,
            "picklistParentValueField": "", "isSupportedWebhookField": False}


def queue_ids(tickets: Iterable[Ticket]) -> dict[str, int]:
    """The tenant's queue (board) picklist values: one per board of the corpus."""
    boards = sorted({ticket.board for ticket in tickets if ticket.board})
    return {board: 29682833 + 17 * index for index, board in enumerate(boards)}


class _Renderer:
    """Assigns Autotask ids and renders tickets, children and reference entities."""

    def __init__(self, tickets: list[Ticket]) -> None:
        self.corpus = tickets
        self.companies: dict[str, dict] = {}
        self.contacts: dict[tuple[str, str], dict] = {}
        self.resources: dict[str, dict] = {}
        self.queues = queue_ids(tickets)
        self.notes: list[dict] = []
        self.entries: list[dict] = []
        self.numbers: set[str] = set()
        for ticket in tickets:
            if ticket.company:
                self._company(ticket.company)
        for name in sorted({n.author for t in tickets for n in t.notes
                            if n.author and n.author_role == AuthorRole.TECHNICIAN}
                           | {t.assignee for t in tickets if t.assignee}):
            self._resource(name)

    def _company(self, name: str) -> dict:
        if name not in self.companies:
            self.companies[name] = {"id": 174 + 3 * len(self.companies), "companyName": name,
                                    "companyType": 1, "isActive": True,
                                    "phone": f"(410) 555-01{(20 + len(self.companies)) % 100:02d}"}
        return self.companies[name]

    def _contact(self, name: str, company: str | None) -> dict:
        key = (name, company or "")
        if key not in self.contacts:
            first, _, last = name.partition(" ")
            words = re.findall(r"[a-z]+", (company or "client").lower())
            domain = "".join(words[:2]) + ".example"
            self.contacts[key] = {
                "id": 30684600 + len(self.contacts), "firstName": first, "lastName": last,
                "companyID": self._company(company)["id"] if company else None,
                "emailAddress": f"{first[:1].lower()}{last.lower().replace(' ', '')}@{domain}",
                "isActive": 1}
        return self.contacts[key]

    def _resource(self, name: str) -> dict:
        if name not in self.resources:
            first, _, last = name.partition(" ")
            user = f"{first.lower()}.{last.lower().replace(' ', '')}"
            self.resources[name] = {"id": 29682885 + 2 * len(self.resources), "firstName": first,
                                    "lastName": last, "email": f"{user}@northgateit.example",
                                    "userName": user, "isActive": True,
                                    "resourceType": "Employee", "title": "Technician"}
        return self.resources[name]

    def _number(self, ticket: Ticket, created: datetime) -> str:
        number = ticket.external_id
        if not _NUMBER.match(number) or number in self.numbers:
            day = created.strftime("%Y%m%d")
            seq = 50
            while f"T{day}.{seq:04d}" in self.numbers:
                seq += 1
            number = f"T{day}.{seq:04d}"
        self.numbers.add(number)
        return number

    def render(self, ticket: Ticket, ticket_id: int, *, company: str | None,
               shift: timedelta) -> dict:
        """One ticket payload; its notes and time entries are appended to the child lists."""
        created = ticket.created_at + shift
        notes = list(ticket.notes)
        description = ticket.description
        if not description.strip() and notes and notes[0].kind == NoteKind.DESCRIPTION:
            description = notes.pop(0).text  # a phone-logged ticket: the text is the description
        resolutions = [note for note in notes if note.kind == NoteKind.RESOLUTION]
        last_activity = ticket.updated_at + shift
        for note in notes:
            if note.kind != NoteKind.RESOLUTION:
                last_activity = max(last_activity, self._child(note, ticket, ticket_id, company,
                                                               shift))
        assignee = self.resources[ticket.assignee]["id"] if ticket.assignee else None
        contact = self._contact(ticket.contact, company)["id"] if ticket.contact else None
        resolved = resolutions[-1].created_at + shift if resolutions else None
        closed = ticket.closed_at + shift if ticket.closed_at else None
        udfs = {_UDF_BY_KEY.get(field.key, field.label or field.key): field.value
                for field in ticket.custom_fields}
        text = f"{ticket.title} {description}".lower()
        issue = next((code for code, words in _ISSUE_WORDS if any(w in text for w in words)), 8)
        alert = bool(ticket.board and "monitor" in ticket.board.lower())
        emailed = any("email" in note.text.lower() for note in ticket.notes
                      if note.author_role == AuthorRole.SYSTEM)
        status = _STATUS_BY_TEXT.get((ticket.status or "").lower(), 5 if closed else 8)
        priority = next((code for code, label in PRIORITY.items()
                         if label.lower() in (ticket.priority or "").lower()), 2)
        activity = max([last_activity, *(value for value in (resolved, closed) if value)])
        # Past every child's stamp, milliseconds included: the ticket moves with its notes.
        activity = activity.replace(microsecond=0) + timedelta(seconds=1)
        return {
            "id": ticket_id, "ticketNumber": self._number(ticket, created),
            "title": ticket.title, "description": description,
            "resolution": "\n\n".join(note.text for note in resolutions) or None,
            "status": status, "priority": priority,
            "queueID": self.queues.get(ticket.board or "", None),
            "companyID": self._company(company)["id"] if company else 0,
            "companyLocationID": None, "contactID": contact,
            "assignedResourceID": assignee,
            "assignedResourceRoleID": 29683461 if assignee else None,
            "completedByResourceID": assignee if closed else None,
            "creatorResourceID": assignee, "creatorType": 1,
            "issueType": issue, "subIssueType": None,
            "ticketType": 5 if alert else 2, "ticketCategory": 3,
            "source": 8 if alert else 4 if emailed else 2,
            "serviceLevelAgreementID": 1, "contractID": None, "configurationItemID": None,
            "estimatedHours": 0.0,
            "createDate": at_stamp(created, ticket_id),
            "dueDateTime": at_stamp(created + timedelta(hours=8), ticket_id),
            "firstResponseDateTime": at_stamp(min(created + timedelta(minutes=14), activity),
                                              ticket_id + 1),
            "lastActivityDate": at_stamp(activity, ticket_id + 2),
            "lastTrackedModifiedDateTime": at_stamp(activity, ticket_id + 2),
            "lastCustomerVisibleActivityDateTime": at_stamp(activity, ticket_id + 2),
            "completedDate": at_stamp(closed, ticket_id + 3) if closed else None,
            "resolvedDateTime": at_stamp(resolved, ticket_id + 4) if resolved and closed else None,
            "userDefinedFields": [{"name": name, "value": udfs.get(name)} for name in UDFS],
        }

    def _child(self, note: Note, ticket: Ticket, ticket_id: int, company: str | None,
               shift: timedelta) -> datetime:
        """Render one note as a TicketNote or TimeEntry; return the stamp it carries."""
        when = note.created_at + shift
        resource = (self.resources[note.author]["id"]
                    if note.author and note.author in self.resources else None)
        if note.kind == NoteKind.TIME_ENTRY:
            entry_id = 77101 + 2 * len(self.entries)
            minutes = note.minutes or 0.0
            self.entries.append({
                "id": entry_id, "ticketID": ticket_id, "taskID": None,
                "resourceID": resource, "roleID": 29683461,
                "dateWorked": when.strftime("%Y-%m-%dT00:00:00Z"),
                "startDateTime": at_stamp(when - timedelta(minutes=minutes), entry_id),
                "endDateTime": at_stamp(when, entry_id),
                "hoursWorked": round(minutes / 60, 4), "hoursToBill": round(minutes / 60, 4),
                "summaryNotes": note.text, "internalNotes": None, "isNonBillable": False,
                "timeEntryType": 2, "billingCodeID": 29682801,
                "createDateTime": at_stamp(when, entry_id),
                "lastModifiedDateTime": at_stamp(when, entry_id)})
            return when
        note_id = 5510001 + 3 * len(self.notes)
        contact = None
        if note.author_role == AuthorRole.SYSTEM:
            alert = "rmm" in note.text.lower() or "alert" in note.text.lower()
            note_type, publish, title = (99, 1, "RMM Note") if alert else (13, 1, "Workflow Rule")
            resource = None
        elif note.author_role == AuthorRole.CONTACT:
            contact = self._contact(note.author or "Unknown Contact", company)["id"]
            portal = "portal" in note.text.lower()
            note_type, publish = (18, 1) if portal else (101, 1)
            title = f"RE: {ticket.title}"[:250]
        elif note.kind in (NoteKind.DISCUSSION, NoteKind.DESCRIPTION):
            note_type, publish, title = 2, 1, "Update"
        else:
            note_type, publish, title = 3, 2, "Internal note"
        self.notes.append({
            "id": note_id, "ticketID": ticket_id, "title": title, "description": note.text,
            "noteType": note_type, "publish": publish,
            "createDateTime": at_stamp(when, note_id), "lastActivityDate": at_stamp(when, note_id),
            "creatorResourceID": resource, "createdByContactID": contact,
            "impersonatorCreatorResourceID": None, "impersonatorUpdaterResourceID": None})
        return when.replace(microsecond=(note_id * 37 % 1000) * 1000)


MALFORMED = (
    ("createDate", "`createDate` is `2024-02-30T09:15:00.000Z` (February 30th, left by a data "
                   "migration)"),
    ("userDefinedFields", "`userDefinedFields` is an object (`{\"Root Cause\": ...}`), not a "
                          "list of `{name, value}`"),
)
"""The two deliberately malformed tickets: the field that is wrong, and how."""


def _malformed(good: dict, field: str) -> dict:
    """A broken copy of a rendered ticket (no children), the way bad data reaches an API."""
    bad = {**good, "title": f"{good['title']} (migrated)", "resolution": None}
    if field == "createDate":
        bad["createDate"] = _MALFORMED_CREATE_DATE
    else:
        bad["userDefinedFields"] = {udf["name"]: udf["value"] for udf in good["userDefinedFields"]}
    return bad


def render(tickets: list[Ticket]) -> dict[str, list[dict]]:
    """Every entity's items for `tickets` (topped up to MIN_TICKETS), plus 2 malformed tickets."""
    renderer = _Renderer(tickets)
    companies = sorted(renderer.companies)
    plan = [(ticket, ticket.company, timedelta()) for ticket in tickets]
    copy = 0
    while len(plan) < MIN_TICKETS and tickets:
        ticket = tickets[copy % len(tickets)]
        round_ = copy // len(tickets) + 1
        index = companies.index(ticket.company) if ticket.company in companies else 0
        company = companies[(index + 3 * round_) % len(companies)] if companies else None
        plan.append((ticket, company, timedelta(days=9 * round_, hours=3 * round_)))
        copy += 1
    plan.sort(key=lambda entry: (entry[0].created_at + entry[2], entry[0].external_id))
    rendered: list[dict] = []
    for position, (ticket, company, shift) in enumerate(plan):
        rendered.append(renderer.render(ticket, 90101 + position, company=company, shift=shift))
    broken = [_malformed(rendered[len(rendered) * (index + 1) // 3], field)
              for index, (field, _) in enumerate(MALFORMED)]
    for offset, bad in enumerate(broken):
        bad["id"] = 90101 + len(rendered) + offset
        bad["ticketNumber"] = f"{bad['ticketNumber'][:9]}.{9900 + offset}"
    resources = [*sorted(renderer.resources.values(), key=lambda r: r["id"]), API_RESOURCE]
    return {
        "Tickets": sorted([*rendered, *broken], key=lambda t: t["id"]),
        "TicketNotes": renderer.notes,
        "TimeEntries": renderer.entries,
        "Companies": sorted(renderer.companies.values(), key=lambda c: c["id"]),
        "Contacts": sorted(renderer.contacts.values(), key=lambda c: c["id"]),
        "Resources": resources,
    }


def entity_fields(entity: str, sample: dict, queues: dict[str, int]) -> dict:
    """The `{entity}/entityInformation/fields` response for the rendered records."""
    picklists: dict[str, dict[int, str]] = {}
    if entity == "Tickets":
        picklists = {"status": STATUS, "priority": PRIORITY, "issueType": ISSUE_TYPE,
                     "source": SOURCE, "ticketType": TICKET_TYPE,
                     "queueID": {5: "Client Portal", 6: "Post Sale", 8: "Monitoring Alert",
                                 **{ident: board for board, ident in queues.items()}}}
    elif entity == "TicketNotes":
        picklists = {"noteType": NOTE_TYPE, "publish": PUBLISH}
    fields = [_picklist_field(name, picklists[name], required=name in ("status", "priority"))
              if name in picklists else _plain_field(name, value)
              for name, value in sample.items() if name != "userDefinedFields"]
    return {"fields": fields}


def build_fixtures(tickets: list[Ticket], out: Path) -> dict[str, int]:
    """Write the corpus as Autotask payloads into `out` (e.g. fixtures/autotask/), and its
    README with the counts and the malformed tickets' ids; return the item counts."""
    out.mkdir(parents=True, exist_ok=True)
    entities = render(tickets)
    for entity, name in FILES.items():
        _write(out / name, {"items": entities[entity]})
    queues = queue_ids(tickets)
    for entity, name in FIELD_FILES.items():
        sample = next(iter(entities[entity]), {})
        _write(out / name, entity_fields(entity, sample, queues))
    broken = [ticket["id"] for ticket in entities["Tickets"]][-len(MALFORMED):]  # highest ids
    counts = {entity: len(items) for entity, items in entities.items()}
    malformed = [(ident, defect) for ident, (_, defect) in zip(broken, MALFORMED, strict=True)]
    (out / "README.md").write_text(readme_text(counts, malformed), encoding="utf-8")
    return counts


def _write(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def synthesise(tables: dict[str, dict[int, dict]], scale: int, *, children: dict[str, str],
               keep: Callable[[dict], bool]) -> None:
    """Add `scale - 1` copies of every ticket `keep` accepts, with its children, to `tables`:
    fresh ids, timestamps moved forward 7 minutes per copy. `children` maps each child entity
    to the field holding its ticket id."""
    tickets = tables["Tickets"]
    base = [raw for _, raw in sorted(tickets.items()) if keep(raw)]
    kids: dict[str, dict[int, list[dict]]] = {entity: defaultdict(list) for entity in children}
    for entity, parent in children.items():
        for item in tables[entity].values():
            kids[entity][item[parent]].append(item)
    next_ids = {entity: max(table, default=0) + 1 for entity, table in tables.items()}
    for copy in range(1, scale):
        shift = timedelta(minutes=7 * copy)
        for raw in base:
            clone = _shifted(raw, shift)
            clone["id"] = next_ids["Tickets"]
            number = str(raw.get("ticketNumber") or "T00000000.0000")
            clone["ticketNumber"] = f"{number[:9]}.{(clone['id'] * 7 + copy) % 10_000:04d}"
            next_ids["Tickets"] += 1
            tickets[clone["id"]] = clone
            for entity, parent in children.items():
                for child in kids[entity][raw["id"]]:
                    twin = _shifted(child, shift)
                    twin["id"], twin[parent] = next_ids[entity], clone["id"]
                    next_ids[entity] += 1
                    tables[entity][twin["id"]] = twin


def _shifted(raw: dict, shift: timedelta) -> dict:
    """A copy of `raw` with every timestamp moved by `shift` (midnight dates stay as written)."""
    clone = dict(raw)
    for key, value in raw.items():
        if (isinstance(value, str) and len(value) >= 20 and value.endswith("Z")
                and value[4] == "-" and not value.endswith("T00:00:00Z")):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            moved = (moment + shift).astimezone(UTC)
            clone[key] = moved.strftime("%Y-%m-%dT%H:%M:%S") + (
                f".{moved.microsecond // 1000:03d}Z" if "." in value else "Z")
    return clone


def counts(folder: Path) -> dict[str, int]:
    """How many items each entity file in `folder` holds."""
    return {entity: len(_items(folder / name)) for entity, name in FILES.items()}


def _items(path: Path) -> Iterable[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["items"]
