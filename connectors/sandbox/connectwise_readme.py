"""The README written next to the ConnectWise fixtures: what each file is and what is odd in it."""

from __future__ import annotations


def fixtures_readme(counts: dict[str, int], malformed: dict[int, str], *, company_id: str,
                    codebase: str, min_tickets: int) -> str:
    """The README of fixtures/connectwise/ for one build."""
    bad = "\n".join(f"| {ticket_id} | {defect} |" for ticket_id, defect in
                    sorted(malformed.items()))
    kinds = (f"{counts['notes_TicketNote']} TicketNote, "
             f"{counts['notes_TimeEntryNote']} TimeEntryNote, "
             f"{counts['notes_MeetingNote']} MeetingNote")
    return f"""# fixtures/connectwise: the corpus as ConnectWise PSA (Manage) API payloads

Generated, do not edit: `python -m connectors.sandbox.build` (all vendors) or
`python -m connectors.sandbox.connectwise` (this one) renders `fixtures/tickets.jsonl`,
`tickets.csv` and `corpus/*.jsonl` through `connectors/sandbox/connectwise_fixtures.py`.
The sandbox (`ConnectWiseEmulation`) serves these files; `tests/connectors/test_connectwise.py`
maps them. Field names and shapes follow the vendor's documented models (Ticket,
ServiceTicketNote, TimeEntry); every value is invented.

| file | endpoint | records |
|---|---|---|
| `company_info.json` | GET /login/companyinfo/{company_id} | codebase `{codebase}` |
| `tickets.json` | GET /service/tickets | {counts["tickets"]} ({counts["valid_tickets"]} valid) |
| `all_notes.json` | GET /service/tickets/{{id}}/allNotes | {counts["all_notes"]}: {kinds} |
| `time_entries.json` | GET /time/entries | {counts["time_entries"]} |
| `manifest.json` | (build metadata: counts, malformed tickets) | |

`all_notes.json` holds the allNotes of every ticket in one array; each element names its
`ticket`, as the vendor's ServiceTicketNote does.

{counts["corpus_tickets"]} corpus tickets; {counts["copied_tickets"]} more are copies of corpus
tickets with the next client's name and dates 45 days later, so there are at least
{min_tickets} valid tickets.

How the corpus maps: a ticket's description is its first Discussion note
(`detailDescriptionFlag`), written by the contact when the ticket came in by e-mail; discussion
and customer replies are Discussion notes (replies carry `contact`, not `member`); internal notes
have `internalAnalysisFlag`, resolutions `resolutionFlag`; system notes have neither `member` nor
`contact` (`createdBy: zAdmin`); technician calls ("called ...") are MeetingNotes;
each time entry is in `time_entries.json` and, as a TimeEntryNote with the same id, in
`all_notes.json`; an internal note typed right after a time entry by the same technician
became that entry's `internalNotes`.

Vendor quirks kept on purpose: `_info.lastUpdated` is the only change stamp; three closed tickets
share one `lastUpdated` second (a bulk status change: records on a cursor boundary); two
e-mailed replies contain a NUL byte (`\\u0000`); custom fields come as `customFields` with `id`
and `caption`; `/time/entries` member references carry no name. TicketNotes carry `dateCreated`
and MeetingNotes/TimeEntryNotes `timeStart`/`timeEnd`, as the vendor models do.

Deliberately malformed tickets (a trustworthy connector quarantines them and keeps going):

| ticket id | defect |
|---|---|
{bad}

"no dateEntered": `_info.dateEntered` is missing, so the ticket has no creation time.
"naive closedDate": `closedDate` has no zone (`2024-06-14T16:20:00`), so it is not a UTC instant.
"""
