"""The hand-written ticket corpus the vendor fixtures are built from.

`fixtures/tickets.jsonl`, `fixtures/tickets.csv` and every `fixtures/corpus/*.jsonl` are read
through the file importer, so the corpus obeys the import format. Each vendor's builder renders
these tickets in its own payload shapes under `fixtures/<vendor>/`.
"""

from __future__ import annotations

from pathlib import Path

from connectors.file_import import CsvMapping, CsvNoteColumn, FileImport, FileImportSettings
from connectors.sandbox.base import FIXTURES
from records import NoteKind, Ticket

_CSV_MAPPING = CsvMapping(
    external_id="Ticket #", title="Summary", company="Company", contact="Contact", board="Board",
    status="Status", priority="Priority", created_at="Date Entered", updated_at="Last Updated",
    closed_at="Closed Date", date_format="%m/%d/%Y %I:%M %p", timezone="America/New_York",
    notes=[CsvNoteColumn(column="Initial Description", kind=NoteKind.DESCRIPTION),
           CsvNoteColumn(column="Internal Notes", kind=NoteKind.INTERNAL),
           CsvNoteColumn(column="Resolution", kind=NoteKind.RESOLUTION)],
)


def _read(path: Path, **extra: object) -> list[Ticket]:
    importer = FileImport(FileImportSettings(name="corpus", path=path, **extra))
    tickets: list[Ticket] = []
    for batch in importer.pull("ticket", since=None):
        tickets.extend(item for item in batch.items if isinstance(item, Ticket))
    return tickets


def load_corpus(fixtures: Path = FIXTURES) -> list[Ticket]:
    """Every valid corpus ticket, in a stable order (by creation time, then id)."""
    tickets = _read(fixtures / "tickets.jsonl")
    if (fixtures / "tickets.csv").is_file():
        tickets += _read(fixtures / "tickets.csv", csv=_CSV_MAPPING)
    for path in sorted((fixtures / "corpus").glob("*.jsonl")):
        tickets += _read(path)
    return sorted(tickets, key=lambda t: (t.created_at, t.external_id))
