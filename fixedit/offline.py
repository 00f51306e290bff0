"""Work that needs no database: the starter config and offline batch extraction of a ticket file."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TextIO

from connectors import FileImport, FileImportSettings
from extract import Extractor, redact_ticket
from records import ConfigError, Ticket


def starter_config() -> str:
    """The commented starter config that `fixedit init` writes (same as config.example.toml)."""
    return resources.files("fixedit").joinpath("config.example.toml").read_text(encoding="utf-8")


@contextmanager
def open_output(target: str) -> Iterator[TextIO]:
    """A text stream for `target`: stdout for '-', else the file (written whole or not at all)."""
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    path = Path(target)
    if not path.parent.is_dir():
        raise ConfigError("--output", f"folder does not exist: {path.parent}")
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as stream:
        yield stream
    partial.replace(path)


@contextmanager
def _input_path(source: str) -> Iterator[Path]:
    if source != "-":
        path = Path(source)
        if not path.is_file():
            raise ConfigError("--input", f"file not found: {path}")
        yield path
        return
    # The file importer streams from a path; give stdin one so both take the same code path.
    with tempfile.TemporaryDirectory(prefix="fixedit-") as folder:
        path = Path(folder) / "stdin.jsonl"
        with path.open("wb") as spool:
            shutil.copyfileobj(sys.stdin.buffer, spool)
        yield path


@dataclass
class ExtractStats:
    """What an offline extraction did."""

    extracted: int = 0
    redacted: int = 0
    rejects: list[str] = field(default_factory=list)


def extract_file(input_: str, output: str, *, source: str, timezone: str) -> ExtractStats:
    """Read tickets (JSONL import format), redact, extract, write resolutions as JSONL."""
    stats = ExtractStats()
    extractor = Extractor()
    with _input_path(input_) as path, open_output(output) as stream:
        importer = FileImport(FileImportSettings(name=source, path=path, format="jsonl",
                                                 timezone=timezone))
        for batch in importer.pull("ticket", since=None):
            tickets: list[Ticket] = []
            for item in batch.items:
                assert isinstance(item, Ticket)
                clean, counts = redact_ticket(item)
                stats.redacted += counts.total
                tickets.append(clean)
            for resolution in extractor.extract_many(tickets):
                stream.write(resolution.model_dump_json() + "\n")
                stats.extracted += 1
            stats.rejects.extend(reject.reason for reject in batch.rejects)
    return stats
