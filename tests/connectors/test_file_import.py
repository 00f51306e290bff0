"""File import: JSONL and CSV exports become tickets, in batches, resumable and idempotent."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors import Connector, CsvMapping, CsvNoteColumn, FileImport, FileImportSettings
from connectors.jsonl_tickets import ticket_from_line
from connectors.timestamps import TimestampReader
from records import Batch, ConfigError, Cursor, NoteKind, Reject, Ticket

DATA = Path(__file__).parent / "data"


def importer(path: Path, **settings: object) -> FileImport:
    return FileImport(FileImportSettings.model_validate({"name": "acme-export", "path": path,
                                                         **settings}))


def pull_all(connector: FileImport, since: Cursor | None = None) -> list[Batch]:
    return list(connector.pull("ticket", since=since))


def tickets(batches: list[Batch]) -> list[Ticket]:
    return [item for batch in batches for item in batch.items if isinstance(item, Ticket)]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def ticket_line(external_id: str, **fields: object) -> str:
    record = {"external_id": external_id, "title": f"ticket {external_id}",
              "created_at": "2024-05-03T08:00:00Z", "updated_at": "2024-05-03T09:00:00Z",
              "notes": [], **fields}
    return json.dumps(record)


PER_TICKET = CsvMapping(
    external_id="Ticket #", title="Summary", company="Company", contact="Contact", board="Board",
    status="Status", priority="Priority", assignee="Assigned To", created_at="Date Entered",
    updated_at="Last Updated", closed_at="Closed Date", description="Initial Description",
    custom_fields=["Root Cause"], timezone="America/Chicago",
    notes=[CsvNoteColumn(column="Internal Notes", kind=NoteKind.INTERNAL),
           CsvNoteColumn(column="Resolution", kind=NoteKind.RESOLUTION,
                         created_at_column="Closed Date", author_column="Assigned To")],
)

PER_NOTE = CsvMapping(
    external_id="Ticket Number", title="Title", company="Account", board="Queue",
    status="Status", created_at="Created", updated_at="Last Activity", closed_at="Completed",
    notes=[CsvNoteColumn(column="Note", author_column="Note Author",
                         created_at_column="Note Date")],
)


# --- JSONL --------------------------------------------------------------------------------

def test_jsonl_realistic_tickets_in_batches_with_the_source_overwritten():
    path = DATA / "tickets.jsonl"
    batches = pull_all(importer(path, batch_size=2))

    assert [len(batch.items) for batch in batches] == [2, 2, 1]
    assert all(batch.kind == "ticket" and not batch.rejects for batch in batches)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert [batch.cursor for batch in batches] == [
        Cursor(value=digest, slice="2"), Cursor(value=digest, slice="4"),
        Cursor(value=digest, slice="5")]

    found = tickets(batches)
    # The file says "connectwise-prod", "" or nothing: the configured name wins.
    assert {ticket.source for ticket in found} == {"acme-export"}
    outlook = found[0]
    assert outlook.external_id == "48213"
    assert [note.kind for note in outlook.notes] == [
        NoteKind.DESCRIPTION, NoteKind.INTERNAL, NoteKind.RESOLUTION]
    assert outlook.notes[2].text == "cleared cached creds in cred mgr, rebuilt OST. fixed"
    assert outlook.custom_fields[0].label == "Root Cause"
    laptop = found[3]
    assert laptop.created_at == datetime(2024, 5, 6, 7, 0, tzinfo=UTC)  # +02:00 made UTC


def test_jsonl_bad_lines_become_rejects_and_the_rest_is_imported(tmp_path):
    lines = [
        ticket_line("1"),
        '{"external_id": "2", "title": "broken',
        ticket_line("3", created_at="03/05/2024 xx"),
        ticket_line("4", created_at="2024-05-03T10:00:00", updated_at="2024-05-03T11:00:00",
                    notes=[{"external_id": "n1", "created_at": "2024-05-03T10:30:00",
                            "text": "rebooted spooler, works now"}]),
        "",
        "[1, 2]",
        json.dumps({"title": "no id", "created_at": "2024-05-03T08:00:00Z",
                    "updated_at": "2024-05-03T08:00:00Z"}),
        ticket_line("8"),
    ]
    path = write_lines(tmp_path / "export.jsonl", lines)

    [batch] = pull_all(importer(path, timezone="America/New_York"))

    assert [ticket.external_id for ticket in batch.items] == ["1", "4", "8"]
    naive = batch.items[1]
    assert naive.created_at == datetime(2024, 5, 3, 14, 0, tzinfo=UTC)  # EDT is UTC-4
    assert naive.notes[0].created_at == datetime(2024, 5, 3, 14, 30, tzinfo=UTC)

    reasons = [reject.reason for reject in batch.rejects]
    assert reasons[0].startswith("line 2: invalid JSON")
    assert reasons[1].startswith("line 3: created_at: ")
    assert "datetime" in reasons[1]
    assert reasons[2] == "line 6: expected a JSON object, found list"
    assert reasons[3].startswith("line 7: external_id: ")
    assert batch.rejects[0].payload == lines[1]
    assert batch.rejects[1].external_id == "3"
    assert batch.cursor is not None and batch.cursor.slice == "8"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"[" * 100_000 + b"]" * 100_000, "line 5: unreadable JSON: RecursionError"),
    (b'{"external_id": "9", "title": "caf\xe9"}', "line 5: not UTF-8 (at byte offset 34)"),
])
def test_jsonl_hostile_lines_are_rejected_not_raised(raw, reason):
    result = ticket_from_line(raw, 5, source="acme", zone=ZoneInfo("UTC"))
    assert isinstance(result, Reject)
    assert result.reason == reason


def test_jsonl_resumes_mid_file_from_the_cursor():
    path = DATA / "tickets.jsonl"
    first = next(importer(path, batch_size=2).pull("ticket", since=None))

    rest = pull_all(importer(path, batch_size=2), since=first.cursor)

    assert [t.external_id for t in first.items] == ["48213", "90211"]
    assert [t.external_id for t in tickets(rest)] == ["10452", "48377", "48390"]


def test_an_unchanged_file_read_to_the_end_yields_nothing(tmp_path):
    path = write_lines(tmp_path / "export.jsonl", [ticket_line("1"), ticket_line("2"), "", ""])
    batches = pull_all(importer(path, batch_size=2))

    assert batches[-1].cursor is not None and batches[-1].cursor.slice == "4"  # blank lines too
    assert pull_all(importer(path, batch_size=2), since=batches[-1].cursor) == []


def test_a_changed_file_is_read_from_the_start(tmp_path):
    path = write_lines(tmp_path / "export.jsonl", [ticket_line("1"), ticket_line("2")])
    [done] = pull_all(importer(path))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(ticket_line("3") + "\n")

    again = pull_all(importer(path), since=done.cursor)

    assert [t.external_id for t in tickets(again)] == ["1", "2", "3"]
    assert again[-1].cursor is not None and again[-1].cursor.value != done.cursor.value


def test_file_import_is_a_connector_of_tickets_only(tmp_path):
    connector = importer(write_lines(tmp_path / "export.jsonl", [ticket_line("1")]))
    assert isinstance(connector, Connector)
    with pytest.raises(ValueError, match="deal"):
        list(connector.pull("deal", since=None))


# --- CSV ----------------------------------------------------------------------------------

def test_csv_one_row_per_ticket_with_note_columns():
    [batch] = pull_all(importer(DATA / "tickets_per_ticket.csv", csv=PER_TICKET))

    assert not batch.rejects
    outlook, laptop, mailbox = batch.items
    assert outlook.source == "acme-export"
    assert outlook.external_id == "48213"
    assert outlook.title == "Outlook keeps prompting for password"
    assert outlook.description == ("Outlook asks for the password every few minutes.\n"
                                   "Started this morning.")
    assert (outlook.company, outlook.contact, outlook.assignee) == (
        "Acme Dental LLC", "Dana Ruiz", "Jae Kim")
    assert outlook.created_at == datetime(2024, 5, 3, 17, 5, tzinfo=UTC)  # 12:05 PM CDT
    assert outlook.closed_at == datetime(2024, 5, 3, 18, 42, tzinfo=UTC)
    internal, resolution = outlook.notes
    assert (internal.kind, internal.text) == (
        NoteKind.INTERNAL, "2 stale entries for outlook.office365.com")
    assert internal.created_at == outlook.created_at  # no time column: the row's created_at
    assert (resolution.kind, resolution.author) == (NoteKind.RESOLUTION, "Jae Kim")
    assert resolution.created_at == outlook.closed_at
    assert [(field.key, field.value) for field in outlook.custom_fields] == [
        ("Root Cause", "stale cred")]
    assert laptop.notes == [] and laptop.closed_at is None and laptop.contact is None
    assert [note.kind for note in mailbox.notes] == [NoteKind.RESOLUTION]  # empty cells: no note


def test_csv_rows_of_one_ticket_are_merged_even_when_interleaved():
    [batch] = pull_all(importer(DATA / "tickets_per_note.csv", csv=PER_NOTE,
                                timezone="America/New_York"))

    assert not batch.rejects
    printer, vpn = batch.items  # emitted as each ticket's last row is read
    assert printer.external_id == "T20240503.0051"
    assert vpn.external_id == "T20240503.0042"
    assert vpn.title == "VPN drops every 10 minutes"  # continuation rows leave it blank
    assert vpn.created_at == datetime(2024, 5, 3, 13, 2, 11, tzinfo=UTC)
    assert vpn.updated_at == datetime(2024, 5, 3, 19, 20, 44, tzinfo=UTC)  # the latest row
    assert vpn.closed_at == datetime(2024, 5, 3, 19, 20, 40, tzinfo=UTC)
    assert [(note.author, note.text[:20]) for note in vpn.notes] == [  # in time order
        ("Chris Agent", "Asked user for GP lo"),
        ("Sam Lee", "Still dropping after"),
        ("Chris Agent", "Updated GP client to"),
    ]


def test_csv_custom_date_format_and_delimiter(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Nr;Betreff;Erstellt\n4711;Drucker offline;03.05.2024 14:30\n",
                    encoding="utf-8")
    mapping = CsvMapping(external_id="Nr", title="Betreff", created_at="Erstellt",
                         date_format="%d.%m.%Y %H:%M", delimiter=";", timezone="Europe/Berlin")

    [batch] = pull_all(importer(path, csv=mapping))

    [ticket] = batch.items
    assert ticket.created_at == datetime(2024, 5, 3, 12, 30, tzinfo=UTC)
    assert ticket.updated_at == ticket.created_at  # no updated_at column: created_at's


def test_csv_bad_date_rejects_that_row_naming_the_column(tmp_path):
    source = (DATA / "tickets_per_note.csv").read_text(encoding="utf-8").splitlines()
    source[3] = source[3].replace("2024-05-03 15:20:40", "2024-13-40 25:00")  # row 4, Completed
    path = write_lines(tmp_path / "export.csv", source)

    [batch] = pull_all(importer(path, csv=PER_NOTE))

    [reject] = batch.rejects
    assert reject.reason.startswith("row 4: closed_at (column 'Completed'): invalid datetime")
    assert reject.external_id == "T20240503.0042"
    assert "2024-13-40 25:00" in reject.payload
    vpn = next(t for t in batch.items if t.external_id == "T20240503.0042")
    assert len(vpn.notes) == 2  # the other rows of the ticket still count
    assert vpn.closed_at is None
    assert {t.external_id for t in batch.items} == {"T20240503.0042", "T20240503.0051"}


def test_csv_rows_without_an_id_or_created_at_are_rejected(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Id,Title,Created\n,orphan,2024-05-03 08:00\n7,no date,\n"
                    "8,fine,2024-05-03 08:00\n", encoding="utf-8")
    mapping = CsvMapping(external_id="Id", title="Title", created_at="Created")

    [batch] = pull_all(importer(path, csv=mapping))

    assert [t.external_id for t in batch.items] == ["8"]
    assert [r.reason for r in batch.rejects] == [
        "row 2: external_id (column 'Id') is empty",
        "row 3: created_at (column 'Created') is empty",
    ]


def test_csv_reimport_gives_the_same_note_ids_even_with_rows_reordered(tmp_path):
    lines = (DATA / "tickets_per_note.csv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    random.Random(7).shuffle(rows)
    shuffled = write_lines(tmp_path / "export.csv", [header, *rows])

    first = {t.external_id: t for t in tickets(pull_all(importer(DATA / "tickets_per_note.csv",
                                                                 csv=PER_NOTE)))}
    again = {t.external_id: t for t in tickets(pull_all(importer(DATA / "tickets_per_note.csv",
                                                                 csv=PER_NOTE)))}
    moved = {t.external_id: t for t in tickets(pull_all(importer(shuffled, csv=PER_NOTE)))}

    assert {key: t.content_hash() for key, t in again.items()} == {
        key: t.content_hash() for key, t in first.items()}
    for key, ticket in first.items():
        assert [n.external_id for n in moved[key].notes] == [n.external_id for n in ticket.notes]


def test_csv_identical_notes_on_one_ticket_get_distinct_ids(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Id,Created,Note\n5,2024-05-03 08:00,fixed\n5,2024-05-03 08:00,fixed\n",
                    encoding="utf-8")
    mapping = CsvMapping(external_id="Id", created_at="Created",
                         notes=[CsvNoteColumn(column="Note")])

    [batch] = pull_all(importer(path, csv=mapping))

    [ticket] = batch.items
    first, second = (note.external_id for note in ticket.notes)
    assert second == f"{first}-2"


@pytest.mark.parametrize("batch_size", [1, 2])
def test_csv_resume_at_any_batch_loses_and_truncates_nothing(tmp_path, batch_size):
    lines = (DATA / "tickets_per_note.csv").read_text(encoding="utf-8").splitlines()
    lines.append("T20240503.0051,,,,,,,,,,")  # a late row of the printer ticket, no note
    lines.insert(2, ",orphan row,,,,,,,,,")  # a row-level reject in the middle
    path = write_lines(tmp_path / "export.csv", lines)
    connector = importer(path, csv=PER_NOTE, batch_size=batch_size)
    full = pull_all(connector)
    expected = {t.external_id: t for t in tickets(full)}

    for cut in range(1, len(full)):
        head = full[:cut]
        tail = pull_all(connector, since=head[-1].cursor)
        resumed = {t.external_id: t for t in tickets(head + tail)}  # later wins, as in the store
        assert resumed == expected, f"resuming after batch {cut}"
        assert sum(len(b.rejects) for b in head + tail) == 1
        assert all(len(b.items) + len(b.rejects) <= batch_size for b in head + tail)


def test_csv_unchanged_file_read_to_the_end_yields_nothing():
    connector = importer(DATA / "tickets_per_note.csv", csv=PER_NOTE)
    [batch] = pull_all(connector)
    assert batch.cursor is not None and batch.cursor.slice == "4"
    assert pull_all(connector, since=batch.cursor) == []


def test_csv_unreadable_row_is_rejected_and_the_rest_imported(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(f"Id,Created,Note\n1,2024-05-03 08:00,{'x' * 140_000}\n"
                    "2,2024-05-03 08:00,ok\n", encoding="utf-8")
    mapping = CsvMapping(external_id="Id", created_at="Created",
                         notes=[CsvNoteColumn(column="Note")])

    [batch] = pull_all(importer(path, csv=mapping))

    assert [t.external_id for t in batch.items] == ["2"]
    assert batch.rejects[0].reason.startswith("row 2: unreadable CSV: field larger")


# --- check() and settings -----------------------------------------------------------------

def test_check_names_the_path_key_when_the_file_is_missing_or_a_directory(tmp_path):
    with pytest.raises(ConfigError) as caught:
        importer(tmp_path / "missing.jsonl").check()
    assert caught.value.key == "sources.acme-export.path"
    assert "does not exist" in str(caught.value)

    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    with pytest.raises(ConfigError) as caught:
        importer(folder).check()
    assert caught.value.key == "sources.acme-export.path"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_check_names_the_path_key_when_the_file_is_unreadable(tmp_path):
    path = write_lines(tmp_path / "export.jsonl", [ticket_line("1")])
    path.chmod(0)
    with pytest.raises(ConfigError) as caught:
        importer(path).check()
    assert caught.value.key == "sources.acme-export.path"


def test_check_names_the_format_key_for_an_unknown_extension(tmp_path):
    path = write_lines(tmp_path / "export.txt", [ticket_line("1")])
    with pytest.raises(ConfigError) as caught:
        importer(path).check()
    assert caught.value.key == "sources.acme-export.format"
    assert [t.external_id for t in tickets(pull_all(importer(path, format="jsonl")))] == ["1"]


def test_check_names_the_mapping_key_of_a_column_missing_from_the_header(tmp_path):
    path = tmp_path / "export.csv"
    shutil.copy(DATA / "tickets_per_ticket.csv", path)
    mapping = PER_TICKET.model_copy(update={"notes": [CsvNoteColumn(column="Resolution Notes")]})

    with pytest.raises(ConfigError) as caught:
        importer(path, csv=mapping).check()
    assert caught.value.key == "sources.acme-export.csv.notes[0].column"
    assert "'Resolution Notes'" in str(caught.value)
    assert "'Resolution'" in str(caught.value)  # lists what the header has


def test_check_names_the_encoding_key_for_a_file_in_another_encoding(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("Id,Created,Title\n1,2024-05-03 08:00,Caf\xe9 Wi-Fi down\n"
                     .encode("cp1252"))
    mapping = CsvMapping(external_id="Id", created_at="Created", title="Title")

    with pytest.raises(ConfigError) as caught:
        pull_all(importer(path, csv=mapping))
    assert caught.value.key == "sources.acme-export.csv.encoding"

    fixed = mapping.model_copy(update={"encoding": "cp1252"})
    assert tickets(pull_all(importer(path, csv=fixed)))[0].title == "Caf\xe9 Wi-Fi down"


def test_a_csv_file_without_a_mapping_is_a_settings_error_naming_csv(tmp_path):
    with pytest.raises(ValidationError, match="csv: a CSV file needs a column mapping"):
        FileImportSettings(name="acme", path=tmp_path / "export.csv")
    with pytest.raises(ValidationError, match="csv"):
        FileImportSettings(name="acme", path=tmp_path / "export.dat", format="csv")


@pytest.mark.parametrize(("settings", "message"), [
    ({"timezone": "Mars/Olympus_Mons"}, "unknown IANA time zone"),
    ({"batch_size": 0}, "greater than or equal to 1"),
    ({"lookback": "5m"}, "Extra inputs are not permitted"),
    ({"format": "xlsx"}, "'auto', 'jsonl' or 'csv'"),
])
def test_file_settings_reject_nonsense(tmp_path, settings, message):
    with pytest.raises(ValidationError, match=message):
        FileImportSettings.model_validate({"name": "acme", "path": tmp_path / "a.jsonl",
                                           **settings})


@pytest.mark.parametrize(("mapping", "message"), [
    ({"timezone": "Central"}, "unknown IANA time zone"),
    ({"encoding": "utf-9"}, "unknown encoding"),
    ({"date_format": "dd/mm/yyyy"}, "not a strptime format"),
    ({"delimiter": ";;"}, "at most 1 character"),
    ({"ticket_id": "Id"}, "Extra inputs are not permitted"),
])
def test_csv_mapping_rejects_nonsense(mapping, message):
    with pytest.raises(ValidationError, match=message):
        CsvMapping.model_validate({"external_id": "Id", "created_at": "Created", **mapping})


# --- fuzzing: no input line or row stops an import ----------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["external_id", "created_at", "updated_at", "notes",
                                       "title", "source", "text", "kind"]), children, max_size=5),
    max_leaves=12,
)


@given(st.binary(max_size=200) | _json_values.map(lambda value: json.dumps(value).encode()))
def test_any_jsonl_line_is_a_ticket_a_reject_or_blank(raw):
    result = ticket_from_line(raw, 3, source="acme", zone=ZoneInfo("Europe/Berlin"))
    assert result is None or isinstance(result, Ticket | Reject)
    if isinstance(result, Reject):
        assert result.reason.startswith("line 3: ")


_cells = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_rows = st.lists(st.tuples(st.sampled_from(["1", "2", "", " 3 "]),
                           st.sampled_from(["2024-05-03 08:00", "05/03/2024 8:00 AM", "", "soon"]),
                           _cells), max_size=8)


@settings(max_examples=60, deadline=None)
@given(_rows)
def test_any_csv_rows_import_without_raising(rows):
    mapping = CsvMapping(external_id="Id", created_at="Created",
                         notes=[CsvNoteColumn(column="Note")])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Id", "Created", "Note"])
            writer.writerows(rows)
        found = tickets(pull_all(importer(path, csv=mapping, batch_size=3)))
    ids = [ticket.external_id for ticket in found]
    assert len(ids) == len(set(ids))  # rows of one id always merge into one ticket


def test_timestamp_reader_knows_export_formats_and_two_digit_years():
    read = TimestampReader(zone=ZoneInfo("America/New_York"))
    assert read("05/03/2024 01:42 PM") == datetime(2024, 5, 3, 17, 42, tzinfo=UTC)
    # After a four-digit year matched (and moved its format first), two digits still read.
    assert read("5/3/24 1:42 PM") == datetime(2024, 5, 3, 17, 42, tzinfo=UTC)
    assert read("2024-05-03T13:42:00+00:00") == datetime(2024, 5, 3, 13, 42, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"invalid datetime '03\.05\.2024'"):
        read("03.05.2024")
