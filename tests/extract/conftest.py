"""Fixtures for the extractor tests: one shared Extractor and small ticket builders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.sandbox.corpus import load_corpus
from extract import Extractor
from extract.analysis import Analysis, analyse
from extract.features import Block
from extract.labelled import load_labelled
from extract.segment import with_text
from extract.sources import ticket_sources
from records import AuthorRole, Note, NoteKind, Ticket

OPENED = datetime(2024, 5, 6, 8, 30, tzinfo=UTC)



@pytest.fixture(scope="session")
def extractor() -> Extractor:
    """One Extractor for the whole run: building the pipeline is the expensive part."""
    return Extractor()


@pytest.fixture(scope="session")
def corpus_analyses(extractor: Extractor) -> tuple[Analysis, ...]:
    """The analysis of every sandbox corpus and labelled ticket, each read alone through the
    whole pipeline (role model included): the real texts that equivalence tests run over."""
    nlp = extractor.nlp
    found = []
    for ticket in [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]:
        sources = ticket_sources(ticket)
        docs = [nlp(with_text(nlp.make_doc(s.clean.text), s.clean.text)) for s in sources]
        found.append(analyse(sources, docs))
    return tuple(found)


@pytest.fixture(scope="session")
def batches() -> list[tuple[Block, Any, Any]]:
    """The role and category models' text columns of real batches, as the extractor reads them:
    what each `Block.transform` call of extracting 200 corpus tickets received."""
    extractor = Extractor(batch_size=64)
    found: list[tuple[Block, Any, Any]] = []
    original = Block.transform

    def keep(block: Block, rows: Any, strings: Any, memo: Any = None) -> Any:
        found.append((block, rows, strings))
        return original(block, rows, strings, memo)

    Block.transform = keep  # type: ignore[method-assign]
    try:
        list(extractor.extract_many(load_corpus()[:200]))
    finally:
        Block.transform = original  # type: ignore[method-assign]
    return found


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
