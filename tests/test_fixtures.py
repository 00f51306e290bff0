"""The bundled sample data under fixtures/: valid, realistic, and as described in its README.

The demo, the sandbox and several test suites read these files, so a broken or thinned-out
fixture shows up here first rather than as a puzzling failure somewhere downstream.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from records import AuthorRole, NoteKind, Ticket

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
OPEN_STATUSES = {"New", "In Progress", "Waiting Customer", "Waiting Vendor"}
BARE_CLOSINGS = {"", "fixed it", "fixed", "done", "resolved", "all good now", "sorted", "onsite"}

HTML = re.compile(r"<(?:p|div|br|html|blockquote)\b", re.IGNORECASE)
FAILED_ATTEMPT = re.compile(
    r"\bno luck\b|\bdid ?n[o']?t help\b|\bno change\b|\bsame error\b"
    r"|\bstill (?:prompting|535|says|crashes|98%|the expired|not)\b",
    re.IGNORECASE,
)
ERROR_CODE = re.compile(
    r"\b0x[0-9a-f]{8}\b|\bAADSTS\d{5,6}\b|\bevent id \d{3,5}\b|\bHTTP (?:Error )?5\d\d\b"
    r"|\b5\d\d 5\.\d\.\d{1,3}\b",
    re.IGNORECASE,
)
KB_REFERENCE = re.compile(r"\bKB\d{6,7}\b|\bNG-KB-\d{4}\b")
ESCALATED = re.compile(r"escalat|vendor case|support case|TAC case", re.IGNORECASE)

CATEGORIES = {
    "email": r"outlook|shared mailbox|\bspf\b|dkim|\bteams\b|\.ost\b|\bost\b",
    "accounts": r"locked out|lockout|\bmfa\b|temp pw|adsync|authenticator|AADSTS",
    "vpn": r"forticlient|globalprotect|netextender",
    "lan": r"\bdhcp\b|\bdns\b|wi-?fi|err-disabled|outage|\bpoe\b",
    "printing": r"spooler|printer|scan to email|scans? to email",
    "hardware": r"STOP 0x|blue ?screen|\bdock\b|monitor|SMART|battery",
    "software": r"windows update|KB\d{7}|dentrix|acrobat|quickbooks|\bsage\b|bluebeam",
    "security": r"phish|trojan|sentinelone|huntress|unusual sign-in",
    "backup": r"veeam|datto",
    "servers": r"disk space|app pool|certificate|RD Gateway|LL-RDS01",
    "voip": r"yealink|\bsip\b|dial tone|voice vlan|\bpbx\b",
    "mobile": r"intune|autopilot|ipads?\b|company portal",
    "performance": r"\bslow\b|cpu",
    "files": r"onedrive|sharepoint|access is denied|inheritance",
}


def _lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").split("\n")[:-1]


TICKETS = [Ticket.model_validate_json(line) for line in _lines("tickets.jsonl")]


def _text(ticket: Ticket) -> str:
    return "\n".join([ticket.title, ticket.description, *(note.text for note in ticket.notes)])


def _tech_notes(ticket: Ticket) -> list:
    return [n for n in ticket.notes
            if n.author_role is AuthorRole.TECHNICIAN and n.kind is not NoteKind.DESCRIPTION]


def _is_bare_closing(ticket: Ticket) -> bool:
    """Closed with a resolution note, but no technician note says what was done."""
    return (ticket.status not in OPEN_STATUSES
            and any(n.kind is NoteKind.RESOLUTION for n in ticket.notes)
            and all(n.text.strip().lower().rstrip(".!") in BARE_CLOSINGS
                    for n in _tech_notes(ticket)))


def _has_failed_attempt(ticket: Ticket) -> bool:
    """A technician note reports a remedy that did not work, and a later one follows it."""
    notes = _tech_notes(ticket)
    return any(FAILED_ATTEMPT.search(n.text) for n in notes[:-1])


MIX = {
    "tickets": lambda t: True,
    "with a time entry": lambda t: any(n.kind is NoteKind.TIME_ENTRY and n.minutes
                                       for n in t.notes),
    "with a customer reply": lambda t: any(n.kind is NoteKind.CUSTOMER_REPLY for n in t.notes),
    "with HTML": lambda t: bool(HTML.search(_text(t))),
    "closed with only a bare closing": _is_bare_closing,
    "with a failed attempt before the fix": _has_failed_attempt,
    "with an error code": lambda t: bool(ERROR_CODE.search(_text(t))),
    "citing a KB": lambda t: bool(KB_REFERENCE.search(_text(t))),
    "open": lambda t: t.status in OPEN_STATUSES,
    "escalated to a vendor": lambda t: bool(ESCALATED.search(_text(t))),
    "workaround only": lambda t: any(n.kind is NoteKind.RESOLUTION
                                     and "workaround" in n.text.lower() for n in t.notes),
    "closed for no response": lambda t: "haven't heard back" in _text(t),
}
MINIMUM = {
    "tickets": 60, "with a time entry": 20, "with a customer reply": 15, "with HTML": 10,
    "closed with only a bare closing": 8, "with a failed attempt before the fix": 8,
    "with an error code": 10, "citing a KB": 5, "open": 3, "escalated to a vendor": 3,
    "workaround only": 2, "closed for no response": 2,
}


def _count(what: str) -> int:
    return sum(1 for t in TICKETS if MIX[what](t))


def _readme() -> str:
    return (FIXTURES / "README.md").read_text(encoding="utf-8")


# --- tickets.jsonl: shape ---------------------------------------------------------------------

def test_every_line_is_a_ticket_and_nothing_else():
    lines = _lines("tickets.jsonl")
    assert len(lines) == len(TICKETS)
    assert all(line.strip() for line in lines)


def test_ticket_ids_are_unique():
    ids = Counter(t.external_id for t in TICKETS)
    assert [i for i, n in ids.items() if n > 1] == []


def test_note_ids_are_unique_across_the_file():
    ids = Counter(n.external_id for t in TICKETS for n in t.notes)
    assert [i for i, n in ids.items() if n > 1] == []


def test_every_ticket_comes_from_the_fixtures_source_and_has_notes():
    assert {t.source for t in TICKETS} == {"fixtures"}
    assert all(1 <= len(t.notes) <= 10 for t in TICKETS)


def test_notes_are_chronological_and_updated_at_is_the_last_activity():
    for t in TICKETS:
        times = [n.created_at for n in t.notes]
        assert times == sorted(times), t.external_id
        assert times[0] >= t.created_at, t.external_id
        last = max([t.created_at, *times, *([t.closed_at] if t.closed_at else [])])
        assert t.updated_at == last, t.external_id


def test_open_tickets_have_no_closed_at_and_closed_ones_do():
    for t in TICKETS:
        assert (t.closed_at is None) == (t.status in OPEN_STATUSES), t.external_id


def test_time_entries_carry_minutes_and_only_technicians_log_time():
    for t in TICKETS:
        for n in t.notes:
            if n.kind is NoteKind.TIME_ENTRY:
                assert n.minutes is not None and n.author_role is AuthorRole.TECHNICIAN
            else:
                assert n.minutes is None, (t.external_id, n.external_id)
            if n.kind is NoteKind.CUSTOMER_REPLY:
                assert n.author_role is AuthorRole.CONTACT, (t.external_id, n.external_id)


def test_data_spans_the_year_ten_clients_and_six_technicians():
    assert {t.created_at.month for t in TICKETS} == set(range(1, 13))
    assert len({t.company for t in TICKETS}) == 10
    technicians = {n.author for t in TICKETS for n in t.notes
                   if n.author_role is AuthorRole.TECHNICIAN}
    assert len(technicians) == 6


def test_only_invented_contact_details():
    text = "\n".join(line for line in _lines("tickets.jsonl"))
    emails = set(re.findall(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", text))
    assert emails and all(domain.endswith(".example") for domain in emails), emails
    hosts = set(re.findall(r"https?://([^/\s\"\\]+)", text))
    assert all(host.endswith(".example") for host in hosts), hosts
    phones = set(re.findall(r"\(\d{3}\) \d{3}-\d{4}", text))
    assert phones and all(re.fullmatch(r"\(\d{3}\) 555-01\d\d", p) for p in phones), phones


# --- tickets.jsonl: the mix the extractor and the demo rely on --------------------------------

@pytest.mark.parametrize("what", sorted(MINIMUM))
def test_mix_meets_its_minimum(what):
    assert _count(what) >= MINIMUM[what]


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_every_problem_category_is_covered(category):
    pattern = re.compile(CATEGORIES[category], re.IGNORECASE)
    assert sum(1 for t in TICKETS if pattern.search(_text(t))) >= 2


def test_bare_closings_are_really_bare():
    bare = [t for t in TICKETS if _is_bare_closing(t)]
    for t in bare:
        resolution = [n for n in t.notes if n.kind is NoteKind.RESOLUTION][-1]
        assert len(resolution.text) <= len("all good now")


def _recurring(pattern: str) -> list[Ticket]:
    compiled = re.compile(pattern, re.IGNORECASE)
    return [t for t in TICKETS if compiled.search(t.title + "\n" + t.description)]


def test_outlook_password_prompt_recurs_across_clients_and_one_is_still_open():
    prompts = _recurring(r"outlook.{0,40}(?:password|sign in)")
    closed = [t for t in prompts if t.closed_at is not None]
    assert len({t.company for t in closed}) >= 3
    assert any(t.closed_at is None for t in prompts)


def test_stuck_print_queue_recurs_at_two_clients():
    spool = [t for t in TICKETS if t.closed_at and re.search(r"spool", _text(t), re.I)]
    assert len({t.company for t in spool}) >= 2


def test_forticlient_stuck_at_98_recurs_and_cites_the_internal_kb():
    vpn = [t for t in _recurring(r"98") if t.closed_at is not None]
    assert len({t.company for t in vpn}) >= 2
    assert all("NG-KB-0117" in _text(t) for t in vpn)


# --- README.md agrees with the data -----------------------------------------------------------

def _readme_table(heading: str) -> list[list[str]]:
    """The body rows of the first Markdown table under `## heading` in the README."""
    section = _readme().split(f"\n## {heading}\n", 1)[1]
    rows: list[str] = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_readme_counts_match_the_data():
    stated = {row[0]: int(row[1]) for row in _readme_table("The mix")}
    actual = {what: _count(what) for what in stated if what in MIX}
    assert set(stated) >= set(MIX)
    assert stated.get("notes") == sum(len(t.notes) for t in TICKETS)
    assert {what: stated[what] for what in actual} == actual


def _planted() -> list[tuple[str, str, str, str]]:
    rows = _readme_table("Planted secrets")
    return [(ticket, where, kind, text.strip("`")) for ticket, where, kind, text in rows]


def test_readme_lists_at_least_five_planted_secrets():
    assert len(_planted()) >= 5


@pytest.mark.parametrize("row", _planted(), ids=lambda row: f"{row[0]}-{row[1]}")
def test_each_planted_secret_sits_exactly_where_the_readme_says(row):
    ticket_id, where, _kind, secret = row
    ticket = next(t for t in TICKETS if t.external_id == ticket_id)
    if where == "description":
        assert secret in ticket.description
    else:
        note = next(n for n in ticket.notes if n.external_id == where)
        assert secret in note.text
    everywhere = "\n".join(_text(t) for t in TICKETS)
    assert everywhere.count(secret) == 1


# --- tickets.csv ------------------------------------------------------------------------------

CSV_COLUMNS = ["Ticket #", "Summary", "Company", "Contact", "Board", "Status", "Priority",
               "Date Entered", "Last Updated", "Closed Date", "Initial Description",
               "Internal Notes", "Resolution"]
CSV_DATE = "%m/%d/%Y %I:%M %p"


def _csv_rows() -> tuple[list[str], list[dict[str, str]]]:
    with (FIXTURES / "tickets.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_csv_has_the_psa_export_columns():
    header, _ = _csv_rows()
    assert header == CSV_COLUMNS


def test_csv_holds_fifteen_tickets_two_of_them_on_a_second_row():
    _, rows = _csv_rows()
    numbers = Counter(row["Ticket #"] for row in rows)
    assert len(numbers) == 15
    assert sorted(n for n in numbers.values() if n > 1) == [2, 2]
    for number in (n for n, c in numbers.items() if c > 1):
        first, extra = (row for row in rows if row["Ticket #"] == number)
        assert extra["Internal Notes"] and not extra["Initial Description"]
        assert not extra["Resolution"]
        same = [c for c in CSV_COLUMNS if c not in
                {"Initial Description", "Internal Notes", "Resolution"}]
        assert {c: first[c] for c in same} == {c: extra[c] for c in same}


def test_csv_dates_are_us_style_and_consistent():
    _, rows = _csv_rows()
    for row in rows:
        entered = datetime.strptime(row["Date Entered"], CSV_DATE)
        assert datetime.strptime(row["Last Updated"], CSV_DATE) >= entered
        if row["Closed Date"]:
            assert datetime.strptime(row["Closed Date"], CSV_DATE) >= entered
        else:
            assert row["Status"] in {"In Progress", "Waiting on Vendor", "Waiting on Client"}


def test_csv_cells_exercise_quoting():
    _, rows = _csv_rows()
    cells = [cell for row in rows for cell in row.values()]
    assert any("\n" in c for c in cells)
    assert any('"' in c for c in cells)
    assert any("," in c for c in cells)


def test_csv_tickets_are_not_copies_of_the_jsonl_ones():
    _, rows = _csv_rows()
    assert {row["Ticket #"] for row in rows}.isdisjoint({t.external_id for t in TICKETS})
    assert {row["Summary"] for row in rows}.isdisjoint({t.title for t in TICKETS})


# --- tickets_bad.jsonl ------------------------------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
BAD_LINES = {
    # line: (what the contract says, where the error is)
    1: ("valid", None),
    2: ("reject", "json_invalid"),
    3: ("reject", ("external_id",)),
    4: ("reject", ("notes", 0, "kind")),
    5: ("naive", ("created_at",)),
    6: ("reject", ("created_at",)),
    7: ("reject", ("sla_breached",)),
    8: ("blank", None),
    9: ("valid", None),
    10: ("reject", "duplicate external_id"),
    11: ("reject", ("notes", 0, "minutes")),
    12: ("valid", None),
}


def _localise(value: object) -> object:
    """What the file importer does with an ISO timestamp that has no offset."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=NEW_YORK).isoformat()
    return value


def test_bad_file_has_the_documented_lines():
    lines = _lines("tickets_bad.jsonl")
    assert len(lines) == len(BAD_LINES)
    verdicts = Counter(verdict for verdict, _ in BAD_LINES.values())
    assert verdicts == {"reject": 7, "valid": 3, "naive": 1, "blank": 1}
    for number in BAD_LINES:
        assert f"| {number} |" in _readme()


@pytest.mark.parametrize("number", sorted(BAD_LINES))
def test_bad_file_line_fails_or_passes_as_documented(number):
    line = _lines("tickets_bad.jsonl")[number - 1]
    verdict, where = BAD_LINES[number]
    if verdict == "blank":
        assert line.strip() == ""
        return
    if verdict == "valid":
        assert Ticket.model_validate_json(line).external_id
        return
    with pytest.raises(ValidationError) as caught:
        Ticket.model_validate_json(line)
    errors = caught.value.errors()
    if where == "json_invalid":
        assert errors[0]["type"] == "json_invalid"
    elif isinstance(where, tuple):
        assert where in [e["loc"] for e in errors]
    else:
        assert where in str(caught.value)


def test_naive_line_is_valid_once_localised_in_the_configured_zone():
    data = json.loads(_lines("tickets_bad.jsonl")[4])
    for key in ("created_at", "updated_at", "closed_at"):
        data[key] = _localise(data[key])
    for note in data["notes"]:
        note["created_at"] = _localise(note["created_at"])
    ticket = Ticket.model_validate(data)
    assert ticket.created_at.isoformat() == "2024-06-11T14:02:00+00:00"


def test_bad_file_ids_do_not_collide_with_the_main_file():
    ids = {json.loads(line).get("external_id") for line in _lines("tickets_bad.jsonl")
           if _parses(line)} - {None}
    assert ids
    assert ids.isdisjoint({t.external_id for t in TICKETS})


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True
