"""The file import connector: tickets from a JSONL or CSV export, as MSPs move them today.

JSONL lines are the JSON form of `records.Ticket` (`source` may be left out: the configured
source name always replaces it). CSV files need a column mapping (`CsvMapping`).

Cursor: `Cursor(value=<SHA-256 of the file>, slice=<lines or data rows consumed>)`. A run
given the cursor of the same file resumes after `slice` (nothing to do once the file was read
to the end); a changed file is read from the start again, and the store's content hashes make
the tickets it already holds no-ops. The cursor value is a hash, not a time: the source's
lookback does not apply to it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.csv_tickets import CsvMapping, CsvNoteColumn, read_csv, read_header
from connectors.jsonl_tickets import read_jsonl
from connectors.timestamps import ZoneName
from records import Batch, ConfigError, Cursor, Reject, Ticket

__all__ = ["CsvMapping", "CsvNoteColumn", "FileImport", "FileImportSettings"]

log = logging.getLogger(__name__)

FileFormat = Literal["jsonl", "csv"]
EXTENSIONS: dict[str, FileFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
}
"""How `format = "auto"` reads a file name's extension (case-insensitive)."""


class FileImportSettings(BaseModel):
    """One configured file source: where the export is and how to read it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="The source name tickets are stored under.")
    kind: Literal["file"] = "file"
    path: Path
    format: Literal["auto", "jsonl", "csv"] = Field(
        default="auto", description="auto: by extension (.jsonl/.ndjson, .csv/.tsv)."
    )
    batch_size: int = Field(default=200, ge=1)
    timezone: ZoneName = Field(default="UTC", description="Zone of timestamps without offset.")
    csv: CsvMapping | None = None

    @model_validator(mode="after")
    def _csv_needs_mapping(self) -> FileImportSettings:
        if self.file_format() == "csv" and self.csv is None:
            raise ValueError(
                "csv: a CSV file needs a column mapping (csv.external_id and csv.created_at "
                "at least)"
            )
        return self

    def file_format(self) -> FileFormat | None:
        """The configured format, or the one the extension names; None if it names none."""
        if self.format != "auto":
            return self.format
        return EXTENSIONS.get(self.path.suffix.lower())


class FileImport:
    """Imports tickets from one JSONL or CSV file, in batches, resumable mid-file."""

    name: ClassVar[str] = "file"
    kinds: ClassVar[frozenset[str]] = frozenset({"ticket"})

    def __init__(self, settings: FileImportSettings) -> None:
        self._settings = settings
        self._key = f"sources.{settings.name}"

    def check(self) -> None:
        """Make sure the file exists, is readable and its format (and CSV header) is known."""
        self._check_file()
        if self._format() == "csv":
            read_header(self._settings.path, self._csv_mapping(), key=self._key)

    def pull(self, kind: str, *, since: Cursor | None) -> Iterator[Batch]:
        """Yield batches of tickets (and rejects) after `since`, each with its cursor."""
        if kind not in self.kinds:
            raise ValueError(f"the file import pulls {sorted(self.kinds)}, not {kind!r}")
        self.check()
        settings = self._settings
        digest = _sha256(settings.path)
        skip = _resume_point(since, digest, source=settings.name)
        zone = ZoneInfo(settings.timezone)
        if self._format() == "csv":
            units = read_csv(settings.path, self._csv_mapping(), source=settings.name, zone=zone,
                             key=self._key, skip=skip)
        else:
            units = read_jsonl(settings.path, source=settings.name, zone=zone, skip=skip)
        yield from _batches(units, digest=digest, start=skip, size=settings.batch_size)

    def _check_file(self) -> None:
        path, key = self._settings.path, f"{self._key}.path"
        if not path.exists():
            raise ConfigError(key, f"{path} does not exist")
        if not path.is_file():
            raise ConfigError(key, f"{path} is not a file")
        if not os.access(path, os.R_OK):
            raise ConfigError(key, f"{path} is not readable by this user")

    def _format(self) -> FileFormat:
        found = self._settings.file_format()
        if found is None:
            raise ConfigError(
                f"{self._key}.format",
                f"cannot tell the format of {self._settings.path.name} from its extension; "
                'set format = "jsonl" or "csv"',
            )
        return found

    def _csv_mapping(self) -> CsvMapping:
        if self._settings.csv is None:  # the settings validator sees to it, unless format lies
            raise ConfigError(f"{self._key}.csv", "a CSV file needs a column mapping")
        return self._settings.csv


def _sha256(path: Path) -> str:
    """SHA-256 of the file, read in chunks (a first streaming pass)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _resume_point(since: Cursor | None, digest: str, *, source: str) -> int:
    """How many lines or rows an earlier run consumed of this very file (0 for a new file)."""
    if since is None or since.slice is None:
        return 0
    if since.value != digest:
        log.debug("source %s: the file changed since the last run; reading it from the start",
                  source)
        return 0
    try:
        return max(int(since.slice), 0)
    except ValueError:
        log.warning("source %s: ignoring a cursor slice that is not a count; reading from the "
                    "start", source)
        return 0


def _batches(units: Iterable[tuple[int, list[Ticket | Reject]]], *, digest: str, start: int,
             size: int) -> Iterator[Batch]:
    """Group per-line entries into batches of at most `size`, each with a safe cursor.

    A batch's cursor never passes a line whose entries are not all in this or earlier batches;
    when one line's entries straddle two batches, the first carries the position before it.
    """
    pending: list[Ticket | Reject] = []
    position = covered = start
    for after, entries in units:
        for entry in entries:
            if len(pending) == size:
                yield _batch(pending, digest, position)
                pending, covered = [], position
            pending.append(entry)
        position = after
        if len(pending) >= size:
            yield _batch(pending, digest, position)
            pending, covered = [], position
    if pending or position > covered:
        yield _batch(pending, digest, position)


def _batch(entries: list[Ticket | Reject], digest: str, position: int) -> Batch:
    items = [entry for entry in entries if isinstance(entry, Ticket)]
    rejects = [entry for entry in entries if isinstance(entry, Reject)]
    log.debug("file batch: %d tickets, %d rejects, cursor at %d", len(items), len(rejects),
              position)
    return Batch(kind="ticket", items=items, rejects=rejects,
                 cursor=Cursor(value=digest, slice=str(position)))
