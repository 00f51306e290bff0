"""Fixtures for the extractor tests: one shared Extractor and small ticket builders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from extract import Extractor
from records import AuthorRole, Note, NoteKind, Ticket

OPENED = datetime(2024, 5, 6, 8, 30, tzinfo=UTC)



@pytest.fixture(scope="session")
def extractor() -> Extractor:
    """One Extractor for the whole run: building the pipeline is the expensive part."""
    return Extractor()


@pytest.fixture
def note() -> Callable[..., Note]:
    """Build a note: `note(3, "text")` is a technician note three hours after the ticket opened."""

    def make(hours: float, text: str, **fields: Any) -> Note:
        values: dict[str, Any] = {
            "external_id": f"n{hours:g}",
            "kind": NoteKind.DISCUSSION,
            "author": "Sam Tech",
            "author_role": AuthorRole.TECHNICIAN,
            "created_at": OPENED + timedelta(hours=hours),
            "text": text,
        }
        values.update(fields)
        return Note(**values)

    return make


@pytest.fixture
def ticket() -> Callable[..., Ticket]:
    """Build a closed ticket; keyword arguments override any field."""

    def make(**fields: Any) -> Ticket:
        values: dict[str, Any] = {
            "source": "acme-psa",
            "external_id": "T-1001",
            "title": "Outlook keeps prompting for password",
            "description": "Outlook keeps asking me for my password since this morning.",
            "company": "Ledgerline CPAs",
            "contact": "Anita Shah",
            "assignee": "Sam Tech",
            "board": "Service Desk",
            "status": "Closed",
            "created_at": OPENED,
            "updated_at": OPENED + timedelta(days=1),
            "closed_at": OPENED + timedelta(days=1),
            "notes": [],
        }
        values.update(fields)
        return Ticket(**values)

    return make
