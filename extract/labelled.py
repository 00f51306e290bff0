"""The labelled tickets the extractor is trained and measured on (`extract/data/labelled/`).

Each line holds a ticket in the import format, its sentences labelled with a role (by exact
text, located here as character spans) and its expected fields. Lines whose labels do not match
their ticket are reported, never silently used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from records import Ticket

LABELLED = Path(__file__).resolve().parent / "data" / "labelled"
ROLES = ("symptom", "cause", "action", "failed_attempt", "verification", "other")
Split = Literal["train", "dev", "test"]


@dataclass(frozen=True)
class LabelledSpan:
    """One labelled sentence: where it is (note id, or "title"/"description") and its role."""

    where: str
    start: int
    end: int
    role: str
    text: str


@dataclass(frozen=True)
class LabelledTicket:
    """A ticket with its gold sentence roles and fields."""

    id: str
    split: Split
    ticket: Ticket
    spans: tuple[LabelledSpan, ...]
    fields: dict[str, object] = field(default_factory=dict)


@dataclass
class LoadReport:
    """What loading found: the usable tickets and the problems with the rest."""

    tickets: list[LabelledTicket] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def split(self, name: Split) -> list[LabelledTicket]:
        """The tickets of one split."""
        return [ticket for ticket in self.tickets if ticket.split == name]


def _texts(ticket: Ticket) -> dict[str, str]:
    texts = {"title": ticket.title, "description": ticket.description}
    texts.update({note.external_id: note.text for note in ticket.notes})
    return texts


def _locate(spans: list[dict[str, str]], texts: dict[str, str], label: str) -> \
        tuple[list[LabelledSpan], list[str]]:
    found: list[LabelledSpan] = []
    problems: list[str] = []
    cursor: dict[str, int] = {}
    for index, item in enumerate(spans):
        where, text, role = str(item.get("note")), str(item.get("text", "")), item.get("role")
        if role not in ROLES:
            problems.append(f"{label}: sentence {index}: unknown role {role!r}")
            continue
        haystack = texts.get(where)
        if haystack is None:
            problems.append(f"{label}: sentence {index}: no note {where!r}")
            continue
        # Repeated phrases are labelled in reading order: search after the previous match.
        start = haystack.find(text, cursor.get(where, 0))
        if start < 0:
            start = haystack.find(text)
        if not text.strip() or start < 0:
            problems.append(f"{label}: sentence {index}: text not found in {where!r}")
            continue
        cursor[where] = start + len(text)
        found.append(LabelledSpan(where=where, start=start, end=start + len(text), role=role,
                                  text=text))
    return found, problems


def load_labelled(folder: Path = LABELLED) -> LoadReport:
    """Every labelled ticket in `folder` (*.jsonl), with a list of the lines that failed."""
    report = LoadReport()
    seen: set[str] = set()
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            label = f"{path.name}:{number}"
            try:
                data = json.loads(line)
                ticket = Ticket.model_validate(data["ticket"])
            except (ValueError, KeyError, TypeError, ValidationError) as exc:
                report.problems.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            if data.get("split") not in ("train", "dev", "test") or data.get("id") in seen:
                report.problems.append(f"{label}: bad split or repeated id {data.get('id')!r}")
                continue
            spans, problems = _locate(data.get("sentences") or [], _texts(ticket), label)
            report.problems.extend(problems)
            seen.add(data["id"])
            report.tickets.append(LabelledTicket(
                id=data["id"], split=data["split"], ticket=ticket, spans=tuple(spans),
                fields=dict(data.get("fields") or {})))
    return report


def iter_split(name: Split, folder: Path = LABELLED) -> Iterator[LabelledTicket]:
    """The usable tickets of one split."""
    yield from load_labelled(folder).split(name)
