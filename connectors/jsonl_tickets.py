"""Tickets from a JSONL file: one JSON form of `records.Ticket` per line, read as a stream.

The import format is exactly the JSON that `Ticket.model_dump_json()` writes, with two
allowances: `source` may be missing or hold anything (the configured source name replaces it),
and timestamps without an offset are read in the configured time zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from connectors.rejects import validation_reason
from connectors.timestamps import localise_naive
from records import Reject, Ticket

_TICKET_TIMES = ("created_at", "updated_at", "closed_at")


def read_jsonl(
    path: Path, *, source: str, zone: ZoneInfo, skip: int = 0
) -> Iterator[tuple[int, list[Ticket | Reject]]]:
    """Yield `(lines consumed, entries of that line)` for every line after the first `skip`.

    Blank lines yield no entries but still count, so a cursor can point past them.
    """
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if number <= skip:
                continue
            entry = ticket_from_line(raw, number, source=source, zone=zone)
            yield number, [] if entry is None else [entry]


def ticket_from_line(
    raw: bytes, number: int, *, source: str, zone: ZoneInfo
) -> Ticket | Reject | None:
    """One line as a Ticket, a Reject saying what is wrong with it, or None if it is blank."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        return Reject(reason=f"line {number}: not UTF-8 (at byte offset {exc.start})",
                      payload=raw.decode("utf-8", "replace").strip())
    if number == 1:
        text = text.removeprefix("\ufeff")
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Reject(reason=f"line {number}: invalid JSON: {exc.msg} at column {exc.colno}",
                      payload=text)
    except (ValueError, RecursionError) as exc:  # e.g. an integer beyond 4300 digits, deep nesting
        return Reject(reason=f"line {number}: unreadable JSON: {type(exc).__name__}", payload=text)
    if not isinstance(data, dict):
        return Reject(reason=f"line {number}: expected a JSON object, found {type(data).__name__}",
                      payload=text)
    external_id = _external_id(data)
    data["source"] = source
    _localise_times(data, zone)
    try:
        return Ticket.model_validate(data)
    except ValidationError as exc:
        return Reject(external_id=external_id, reason=f"line {number}: {validation_reason(exc)}",
                      payload=text)


def _external_id(data: dict[str, Any]) -> str | None:
    value = data.get("external_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def _localise_times(data: dict[str, Any], zone: ZoneInfo) -> None:
    """Give naive ticket and note timestamps the configured zone, in place."""
    for key in _TICKET_TIMES:
        if key in data:
            data[key] = localise_naive(data[key], zone)
    notes = data.get("notes")
    if isinstance(notes, list):
        for note in notes:
            if isinstance(note, dict) and "created_at" in note:
                note["created_at"] = localise_naive(note["created_at"], zone)
