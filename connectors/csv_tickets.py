"""Tickets from a CSV export, read through a column mapping; rows sharing an id make one ticket.

PSAs export tickets either one row per ticket (with a column per note: description, internal
notes, resolution) or one row per note (ticket fields repeated, or only on the first row). Both
work: rows with the same external id are merged, ticket fields take the first non-empty value
in row order (`updated_at` the latest), and each non-empty note cell becomes a note.

The file is read in two streaming passes: the first finds the last row of every ticket, the
second emits a ticket as soon as its last row is read, so memory holds only tickets whose rows
are still to come (one at a time when the export is sorted by ticket).

Rows are numbered in reasons as a spreadsheet shows them (the header is row 1); positions
(cursor slices) count data rows.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connectors.rejects import row_label, validation_reason
from connectors.timestamps import TimestampReader, ZoneName
from records import AuthorRole, ConfigError, NoteKind, Reject, Ticket

TEXT_FIELDS = ("title", "description", "company", "contact", "assignee", "board", "priority",
               "status", "url")
TIME_FIELDS = ("created_at", "updated_at", "closed_at")


class CsvNoteColumn(BaseModel):
    """A column holding note text, and the columns holding that note's author and time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1)
    kind: NoteKind = NoteKind.DISCUSSION
    author_column: str | None = None
    author_role: AuthorRole = AuthorRole.TECHNICIAN
    created_at_column: str | None = Field(
        default=None, description="Without it the note takes its row's created_at."
    )


class CsvMapping(BaseModel):
    """Which header column holds which ticket field, and how the file is written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: str = Field(min_length=1)
    created_at: str = Field(min_length=1)
    title: str | None = None
    description: str | None = None
    company: str | None = None
    contact: str | None = None
    assignee: str | None = None
    board: str | None = None
    priority: str | None = None
    status: str | None = None
    updated_at: str | None = Field(default=None, description="Defaults to the created_at column.")
    closed_at: str | None = None
    url: str | None = None
    custom_fields: list[str] = Field(default_factory=list, description="Kept as CustomFields.")
    notes: list[CsvNoteColumn] = Field(default_factory=list)
    date_format: str | None = Field(default=None, description="strptime format, e.g. %d/%m/%Y.")
    timezone: ZoneName | None = Field(
        default=None, description="Zone of naive timestamps; defaults to the source's timezone."
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8-sig"

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r} (e.g. 'utf-8-sig', 'cp1252')") from exc
        return value

    @field_validator("date_format")
    @classmethod
    def _looks_like_strptime(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(f"{value!r} is not a strptime format (e.g. '%d/%m/%Y %H:%M')")
        return value

    def columns(self) -> dict[str, str]:
        """Every mapped column, keyed by its settings key (e.g. `notes[0].author_column`)."""
        found = {name: column for name in ("external_id", *TEXT_FIELDS, *TIME_FIELDS)
                 if (column := getattr(self, name))}
        for i, column in enumerate(self.custom_fields):
            found[f"custom_fields[{i}]"] = column
        for i, note in enumerate(self.notes):
            found[f"notes[{i}].column"] = note.column
            if note.author_column:
                found[f"notes[{i}].author_column"] = note.author_column
            if note.created_at_column:
                found[f"notes[{i}].created_at_column"] = note.created_at_column
        return found


@dataclass(frozen=True)
class _NoteCell:
    spec: CsvNoteColumn
    text: str
    author: str | None
    created_at: datetime | None


@dataclass
class _Row:
    number: int
    cells: list[str]
    texts: dict[str, str] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    notes: list[_NoteCell] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)


def read_header(path: Path, mapping: CsvMapping, *, key: str) -> dict[str, int]:
    """Read the header row, check every mapped column is in it, return column positions.

    `key` is the source's settings key (`sources.<name>`); errors are ConfigErrors under it.
    """
    with (_decoding(path, mapping, key=key),
          path.open(encoding=mapping.encoding, newline="") as handle):
        try:
            header = next(csv.reader(handle, delimiter=mapping.delimiter), None)
        except csv.Error as exc:
            raise ConfigError(f"{key}.path", f"{path.name}: unreadable header: {exc}") from exc
    if not header:
        raise ConfigError(f"{key}.path", f"{path.name} is empty: a CSV needs a header row")
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        index.setdefault(name.strip().lstrip("\ufeff"), position)  # a BOM read as utf-8
    missing = {name: column for name, column in mapping.columns().items()
               if column.strip() not in index}
    if missing:
        listed = ", ".join(f"{column!r} ({name})" for name, column in missing.items())
        raise ConfigError(f"{key}.csv.{next(iter(missing))}",
                          f"not in the header of {path.name}: {listed}; the header has "
                          f"{', '.join(repr(name) for name in list(index)[:40])}")
    return index


def read_csv(
    path: Path, mapping: CsvMapping, *, source: str, zone: ZoneInfo, key: str, skip: int = 0
) -> Iterator[tuple[int, list[Ticket | Reject]]]:
    """Yield `(data rows consumed, entries completed by that row)` for every data row.

    Rows up to `skip` were consumed by an earlier run: their rejects and the tickets that end
    there are not emitted again, but their cells still count for tickets that end later.
    """
    index = read_header(path, mapping, key=key)
    zone = ZoneInfo(mapping.timezone) if mapping.timezone else zone
    read_time = TimestampReader(zone=zone, date_format=mapping.date_format)
    id_column = index[mapping.external_id.strip()]
    last_rows = _last_rows(path, mapping, key=key, id_column=id_column)
    pending: dict[str, list[_Row]] = {}
    position = 0
    for position, cells in _data_rows(path, mapping, key=key):
        number, out = position + 1, []
        if isinstance(cells, str):
            if position > skip:
                out.append(Reject(reason=f"row {number}: {cells}"))
        elif cells:
            external_id = _cell(cells, id_column)
            if not external_id:
                if position > skip:
                    out.append(Reject(reason=f"row {number}: external_id (column "
                                             f"{mapping.external_id!r}) is empty",
                                      payload=_raw(cells, mapping)))
            elif last_rows.get(external_id, position) > skip:
                row = _parse_row(number, cells, index, mapping, read_time, external_id=external_id)
                if isinstance(row, _Row):
                    pending.setdefault(external_id, []).append(row)
                elif position > skip:
                    out.append(row)
                if last_rows.get(external_id, position) <= position and external_id in pending:
                    out.append(_ticket(external_id, pending.pop(external_id), mapping, source))
        yield position, out
    if pending:  # the file changed between the passes: emit what was read
        yield position, [_ticket(ext, rows, mapping, source) for ext, rows in pending.items()]


@contextmanager
def _decoding(path: Path, mapping: CsvMapping, *, key: str) -> Iterator[None]:
    """Turn a decoding error anywhere in a read into a ConfigError naming `csv.encoding`."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{key}.csv.encoding",
            f"{path.name} is not valid {mapping.encoding}; "
            "set the file's encoding (Excel often writes 'cp1252')",
        ) from exc


def _data_rows(
    path: Path, mapping: CsvMapping, *, key: str
) -> Iterator[tuple[int, list[str] | str]]:
    """Yield `(position, cells)` per data row, or `(position, problem)` for an unreadable one."""
    with (_decoding(path, mapping, key=key),
          path.open(encoding=mapping.encoding, newline="") as handle):
        reader = csv.reader(handle, delimiter=mapping.delimiter)
        next(reader, None)  # the header, checked by read_header
        position = 0
        while True:
            position += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # the reader carries on at the next line
                yield position, f"unreadable CSV: {exc}"
                continue
            yield position, cells if any(cell.strip() for cell in cells) else []


def _last_rows(path: Path, mapping: CsvMapping, *, key: str, id_column: int) -> dict[str, int]:
    """First pass: the position of the last row of every external id."""
    last: dict[str, int] = {}
    for position, cells in _data_rows(path, mapping, key=key):
        if isinstance(cells, list) and (external_id := _cell(cells, id_column)):
            last[external_id] = position
    return last


def _cell(cells: list[str], position: int) -> str:
    return cells[position].strip() if position < len(cells) else ""


def _raw(cells: list[str], mapping: CsvMapping) -> str:
    """The row written back as CSV text, for a reject's payload."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=mapping.delimiter, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _parse_row(number: int, cells: list[str], index: dict[str, int], mapping: CsvMapping,
               read_time: TimestampReader, *, external_id: str) -> _Row | Reject:
    """Read one row's cells; any unreadable timestamp rejects the whole row, naming the column."""

    def cell(column: str | None) -> str:
        return _cell(cells, index[column.strip()]) if column else ""

    row, problems = _Row(number=number, cells=cells), []

    def timestamp(text: str, what: str, column: str) -> datetime | None:
        try:
            return read_time(text)
        except ValueError as exc:
            problems.append(f"{what} (column {column!r}): {exc}")
            return None

    row.texts = {name: value for name in TEXT_FIELDS if (value := cell(getattr(mapping, name)))}
    for name in TIME_FIELDS:
        column = getattr(mapping, name)
        if column and (text := cell(column)) and (parsed := timestamp(text, name, column)):
            row.times[name] = parsed
    if mapping.updated_at is None and "created_at" in row.times:
        row.times["updated_at"] = row.times["created_at"]
    for i, spec in enumerate(mapping.notes):
        text = cell(spec.column)
        if not text:
            continue
        created_at = None
        if spec.created_at_column and (stamp := cell(spec.created_at_column)):
            created_at = timestamp(stamp, f"notes[{i}].created_at_column", spec.created_at_column)
        row.notes.append(_NoteCell(spec, text, cell(spec.author_column) or None, created_at))
    row.custom = {column: value for column in mapping.custom_fields if (value := cell(column))}
    if problems:
        return Reject(external_id=external_id, reason=f"row {number}: {'; '.join(problems)}",
                      payload=_raw(cells, mapping))
    return row


def _ticket(external_id: str, rows: list[_Row], mapping: CsvMapping,
            source: str) -> Ticket | Reject:
    """Merge the rows of one ticket into a Ticket (or a Reject naming the rows)."""
    label = row_label([row.number for row in rows])

    def payload() -> str:
        return "\n".join(_raw(row.cells, mapping) for row in rows)

    def first(values: list[dict[str, Any]], name: str) -> Any:
        return next((value[name] for value in values if name in value), None)

    created_at = first([row.times for row in rows], "created_at")
    if created_at is None:
        return Reject(external_id=external_id, payload=payload(),
                      reason=f"{label}: created_at (column {mapping.created_at!r}) is empty")
    updated = [row.times["updated_at"] for row in rows if "updated_at" in row.times]
    custom: dict[str, str] = {}
    for row in rows:
        for column, value in row.custom.items():
            custom.setdefault(column, value)
    data: dict[str, Any] = {name: value for name in TEXT_FIELDS
                            if (value := first([row.texts for row in rows], name)) is not None}
    data.update(
        source=source,
        external_id=external_id,
        created_at=created_at,
        updated_at=max(updated) if updated else created_at,
        closed_at=first([row.times for row in rows], "closed_at"),
        custom_fields=[{"key": column, "value": value} for column, value in custom.items()],
        notes=_notes(external_id, rows, created_at),
    )
    try:
        return Ticket.model_validate(data)
    except ValidationError as exc:
        return Reject(external_id=external_id, payload=payload(),
                      reason=f"{label}: {validation_reason(exc)}")


def _notes(external_id: str, rows: list[_Row], fallback: datetime) -> list[dict[str, Any]]:
    """Note dicts in time order, with ids that survive re-export and re-ordered rows.

    A note's id hashes (ticket id, column, time, text); identical notes on one ticket get
    `-2`, `-3`, ... in row order.
    """
    notes, seen = [], Counter[str]()
    for row in rows:
        for cell in row.notes:
            created_at = cell.created_at or row.times.get("created_at") or fallback
            identity = "\x1f".join((external_id, cell.spec.column,
                                    created_at.astimezone(UTC).isoformat(), cell.text))
            digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
            seen[digest] += 1
            notes.append({
                "external_id": digest if seen[digest] == 1 else f"{digest}-{seen[digest]}",
                "kind": cell.spec.kind,
                "author": cell.author,
                "author_role": cell.spec.author_role,
                "created_at": created_at,
                "text": cell.text,
            })
    notes.sort(key=lambda note: note["created_at"])
    return notes
