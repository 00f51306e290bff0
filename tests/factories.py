"""Test factories: valid records.* objects with realistic defaults; pass keyword overrides.

Each call gets fresh external ids, so two tickets made in one test never collide unless the test
says so. Defaults describe one plausible MSP ticket (a print spooler fix) and its resolution.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from records import (
    AuthorRole,
    Deal,
    Evidence,
    EvidencedText,
    Note,
    NoteKind,
    Outcome,
    Resolution,
    SourceRef,
    Ticket,
)

_ids = itertools.count(1)

BASE_TIME = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
"""When factory tickets are created; later timestamps are offsets from it."""


def next_id(prefix: str = "") -> str:
    """A fresh external id, unique within the test session."""
    return f"{prefix}{next(_ids)}"


def make_note(**overrides: Any) -> Note:
    """A technician's discussion note."""
    fields: dict[str, Any] = {
        "external_id": next_id("n"),
        "kind": NoteKind.DISCUSSION,
        "author": "Sam Tech",
        "author_role": AuthorRole.TECHNICIAN,
        "created_at": BASE_TIME + timedelta(minutes=20),
        "text": "Restarted the Print Spooler service and cleared the queue; test page printed.",
    }
    fields.update(overrides)
    return Note(**fields)


def make_ticket(**overrides: Any) -> Ticket:
    """A closed ticket with a contact's report and a technician's fix."""
    external_id = overrides.pop("external_id") if "external_id" in overrides else next_id()
    fields: dict[str, Any] = {
        "source": "sandbox",
        "external_id": external_id,
        "title": "Printer on 2nd floor not printing",
        "description": "Jobs sit in the queue on HP LaserJet M404; nothing comes out.",
        "company": "Acme Dental",
        "contact": "Pat Frontdesk",
        "assignee": "Sam Tech",
        "board": "Service Desk",
        "priority": "P3",
        "status": "Closed",
        "created_at": BASE_TIME,
        "updated_at": BASE_TIME + timedelta(hours=1),
        "closed_at": BASE_TIME + timedelta(hours=1),
        "url": f"https://psa.example.com/tickets/{external_id}",
    }
    if "notes" not in overrides:
        fields["notes"] = [
            make_note(external_id=f"{external_id}-1", kind=NoteKind.DESCRIPTION,
                      author="Pat Frontdesk", author_role=AuthorRole.CONTACT,
                      created_at=BASE_TIME,
                      text="Nothing prints from reception, jobs stuck in queue."),
            make_note(external_id=f"{external_id}-2", kind=NoteKind.RESOLUTION),
        ]
    fields.update(overrides)
    return Ticket(**fields)


def make_deal(**overrides: Any) -> Deal:
    """An open CRM deal with one call note."""
    external_id = (overrides.pop("external_id") if "external_id" in overrides
                   else next_id("d"))
    fields: dict[str, Any] = {
        "source": "crm",
        "external_id": external_id,
        "name": "Acme Dental - managed services",
        "description": "Wants 24/7 monitoring for 3 sites.",
        "company": "Acme Dental",
        "stage": "Discovery",
        "amount": 48000.0,
        "currency": "USD",
        "owner": "Alex Sales",
        "created_at": BASE_TIME,
        "updated_at": BASE_TIME + timedelta(days=1),
        "notes": [make_note(external_id=f"{external_id}-1", kind=NoteKind.DISCUSSION,
                            author="Alex Sales",
                            text="Call with the practice manager: budget approved for Q3.")],
    }
    fields.update(overrides)
    return Deal(**fields)


def _evidenced(text: str, *, note_id: str, start: int = 0) -> EvidencedText:
    return EvidencedText(
        text=text,
        evidence=[Evidence(field="note", note_id=note_id, start=start, end=start + len(text),
                           text=text)],
    )


def make_resolution(**overrides: Any) -> Resolution:
    """A usable, resolved resolution of a print spooler ticket, with evidence on every field.

    `ticket` may be a `records.Ticket` (its ref is used) or a `records.SourceRef`.
    """
    ticket = overrides.pop("ticket", None)
    if isinstance(ticket, Ticket):
        ticket = ticket.ref
    if ticket is None:
        ticket = SourceRef(source="sandbox", kind="ticket", external_id=next_id())
    note_id = f"{ticket.external_id}-2"
    fields: dict[str, Any] = {
        "ticket": ticket,
        "title": "Print jobs stuck in queue on HP LaserJet",
        "problem": EvidencedText(
            text="Jobs sit in the queue; nothing comes out.",
            evidence=[Evidence(field="description", start=0, end=41,
                               text="Jobs sit in the queue; nothing comes out.")],
        ),
        "symptoms": [_evidenced("jobs stuck in queue", note_id=f"{ticket.external_id}-1")],
        "cause": _evidenced("Print Spooler service hung", note_id=note_id),
        "steps": [
            _evidenced("Restarted the Print Spooler service", note_id=note_id),
            _evidenced("cleared the queue", note_id=note_id, start=41),
        ],
        "verification": _evidenced("test page printed", note_id=note_id, start=60),
        "outcome": Outcome.RESOLVED,
        "category": "printing",
        "products": [_evidenced("HP LaserJet M404", note_id=note_id)],
        "company": "Acme Dental",
        "technician": "Sam Tech",
        "board": "Service Desk",
        "closed_at": BASE_TIME + timedelta(hours=1),
        "confidence": 0.82,
        "extractor_version": "test-1",
    }
    fields.update(overrides)
    if isinstance(fields["title"], str):
        fields["title"] = EvidencedText(text=fields["title"],
                                        evidence=[Evidence(field="title", start=0,
                                                           end=len(fields["title"]),
                                                           text=fields["title"])])
    return Resolution(**fields)


class Sleeps(list[float]):
    """A fake `sleep` for retry tests: records each wait instead of taking it."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    @property
    def waits(self) -> list[float]:
        """The waits asked for, in order."""
        return list(self)
