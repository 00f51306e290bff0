"""The README written next to the Autotask fixtures, with this build's counts filled in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_TEMPLATE = """\
# fixtures/autotask: the corpus as Autotask PSA REST payloads

What the Autotask emulation (`connectors/sandbox/autotask.py`) serves, and what the Autotask
connector's tests read. Generated, never edited by hand (this README too): the hand-written
tickets in `../tickets.jsonl`, `../tickets.csv` and `../corpus/*.jsonl` (read by
`connectors/sandbox/corpus.py`) rendered in Autotask's own shapes.

Rebuild everything with `python -m connectors.sandbox.build`, or only these files with
`python -m connectors.sandbox.autotask`. The output is deterministic: the same corpus always
gives the same bytes.

| file | Autotask endpoint (under `/V1.0/`) | items |
|---|---|---|
| `tickets.json` | `Tickets/query` items | {tickets} ({good} well-formed + {bad} malformed) |
| `ticket_notes.json` | `TicketNotes/query` items | {notes} |
| `time_entries.json` | `TimeEntries/query` items | {entries} |
| `companies.json` | `Companies` (clients) | {companies} |
| `contacts.json` | `Contacts` (people at clients) | {contacts} |
| `resources.json` | `Resources` (technicians, plus the API-only user) | {resources} |
| `tickets_fields.json` | `Tickets/entityInformation/fields` | picklists |
| `ticket_notes_fields.json` | `TicketNotes/entityInformation/fields` | picklists |

Every entity file is `{{"items": [...]}}`, each item as the query endpoint returns it.

## Vendor shapes kept

- Integer ids in Autotask's ranges (tickets 90101..., notes 5510001..., time entries 77101...,
  resources 29682885..., contacts 30684600..., companies 174...). Ticket numbers like
  `T20240108.0014` (the corpus number where it already has that form, else one made from the
  create date).
- Picklist integers, labelled only in `*_fields.json`: `status` (1 New, 5 Complete,
  8 In Progress, 12 Waiting Vendor, ...), `priority` (1 High, 2 Medium, 3 Low, 4 Critical),
  `queueID` (one queue per corpus board), `issueType`, `source`, `ticketType`.
- `userDefinedFields: [{{name, value}}]` listing every UDF of the entity on every ticket, unset
  ones as `null` (Root Cause, Billable, Site, Configuration Item).
- The ticket's dedicated `resolution` field holds the corpus's resolution notes.
- A phone-logged ticket with an empty description gets its first (description) note as the
  ticket `description`.
- TicketNotes carry the `noteType` and `publish` picklists. Technician internal notes are
  noteType 3 (Task Notes) with publish 2 (Internal Project Team); customer-facing updates
  noteType 2 with publish 1 (All Autotask Users); customer e-mails noteType 101 (Email Note) or
  18 (Client Portal Note) with `createdByContactID` set; system notes noteType 13 (Workflow
  Rule) or 99 (RMM Note) with no creator.
- TimeEntries: `summaryNotes`, `internalNotes`, `hoursWorked` (minutes / 60, 4 decimals),
  `dateWorked` at midnight, `startDateTime`/`endDateTime`.
- Timestamps in UTC with milliseconds (`2024-05-03T19:20:44.120Z`). A ticket's
  `lastActivityDate` is later than its last note, time entry and resolution.

## The {bad} malformed tickets (a trustworthy connector must quarantine them)

They are copies of well-formed tickets, titled `... (migrated)`, with no notes and the highest
ticket ids:

| id | what is wrong |
|---|---|
{malformed}

The connector turns each into a `records.Reject` (reason `ticket <id>: <field>: ...`) and keeps
the other tickets of the page. The emulation's `expected()` leaves them out.

## No secrets

The sandbox's fake credentials live in `connectors/sandbox/autotask.py`, not in these files.
Names, companies, domains (`.example`) and phone numbers (`555-01xx`) are invented, as in the
corpus.
"""


def readme_text(counts: Mapping[str, int], malformed: Sequence[tuple[int, str]]) -> str:
    """The README for one build: item counts by entity, and (id, defect) of each bad ticket."""
    rows = "\n".join(f"| {ident} | {defect} |" for ident, defect in malformed)
    return _TEMPLATE.format(
        tickets=counts["Tickets"], good=counts["Tickets"] - len(malformed), bad=len(malformed),
        notes=counts["TicketNotes"], entries=counts["TimeEntries"],
        companies=counts["Companies"], contacts=counts["Contacts"],
        resources=counts["Resources"], malformed=rows)
