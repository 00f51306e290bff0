"""Extracted resolutions and their evidence spans: save, read back, stream."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, delete, select

from records import Evidence, Resolution, StoreError
from store.search import resolution_tokens, search_text
from store.tables import EvidenceRow, ResolutionRow, TicketRow, nul_free, utcnow

log = logging.getLogger(__name__)

_PAGE = 500  # rows per round trip when streaming resolutions
CONTEXT_MAX_CHARS = 6_000
"""Cap on `ResolutionRow.context_text`: the opening of a ticket says what it was about, and the
lookup index holds every context's terms in memory (a million rows must stay affordable)."""
_SPACE = re.compile(r"\s+")


def save_resolution(
    session: Session, *, row_id: int, content_hash: str, resolution: Resolution
) -> None:
    """Store the resolution extracted from ticket row `row_id` as it was at `content_hash`.

    Replaces an earlier resolution of the same ticket and its evidence, and records which
    content and extractor version it came from (so `pending_extraction` skips it until either
    changes). A ticket deleted meanwhile keeps no resolution.
    """
    ticket = session.get(TicketRow, row_id)
    if ticket is None:
        raise StoreError(f"ticket row {row_id} does not exist")
    if (ticket.source, ticket.external_id) != (resolution.ticket.source,
                                               resolution.ticket.external_id):
        raise ValueError(
            f"resolution for {resolution.ticket.source}/{resolution.ticket.external_id} "
            f"given for ticket row {row_id} ({ticket.source}/{ticket.external_id})"
        )
    if ticket.deleted_at is not None:
        log.debug("ticket row %d was deleted during extraction; resolution dropped", row_id)
        return
    row = session.exec(select(ResolutionRow).where(col(ResolutionRow.ticket_id) == row_id)).first()
    now = utcnow()
    tokens = resolution_tokens(resolution)
    values: dict[str, Any] = {
        "source": ticket.source,
        "external_id": ticket.external_id,
        "title": nul_free(resolution.title.text),
        "problem": nul_free(resolution.problem.text) if resolution.problem else None,
        "category": resolution.category,
        "outcome": resolution.outcome.value,
        "confidence": resolution.confidence,
        "usable": resolution.usable,
        "company": nul_free(resolution.company),
        "board": nul_free(resolution.board),
        "technician": nul_free(resolution.technician),
        "closed_at": resolution.closed_at,
        "extractor_version": resolution.extractor_version,
        "updated_at": now,
        "search_text": search_text(tokens),
        "search_length": len(tokens),
        "context_text": context_text(ticket.payload),
        "payload": resolution.model_dump_json(),
    }
    if row is None:
        row = ResolutionRow(ticket_id=row_id, created_at=now, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        session.exec(delete(EvidenceRow).where(col(EvidenceRow.resolution_id) == row.id))
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add_all(_evidence_rows(row.id, resolution))
    ticket.extracted_hash = content_hash
    ticket.extracted_version = resolution.extractor_version
    session.add(ticket)
    session.flush()


def context_text(ticket_payload: str) -> str:
    """The ticket's own words for the lookup index: description and notes, cleaned, capped.

    Why: the extracted fields keep a technician's summary, but a new ticket is often worded
    like an old one's description or notes. Tickets are stored redacted, so this text is too.
    HTML, quoted replies, signatures and disclaimers are cleaned out as the extractor cleans
    them, whitespace squeezed, and the text cut at `CONTEXT_MAX_CHARS`.
    """
    from extract.clean import clean_text  # the extractor's cleaning; loaded only when saving

    try:
        data = json.loads(ticket_payload) if ticket_payload else {}
    except ValueError as exc:
        raise StoreError("a ticket row holds an unreadable payload") from exc
    if not isinstance(data, dict):
        return ""
    texts = [data.get("description")]
    notes = data.get("notes")
    if isinstance(notes, list):
        texts += [note.get("text") for note in notes if isinstance(note, dict)]
    parts: list[str] = []
    size = 0
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            continue
        piece = _SPACE.sub(" ", clean_text(text[:4 * CONTEXT_MAX_CHARS]).text).strip()
        if piece:
            parts.append(piece)
            size += len(piece) + 1
            if size >= CONTEXT_MAX_CHARS:
                break
    joined = "\n".join(parts)[:CONTEXT_MAX_CHARS]
    return nul_free(joined.rsplit(" ", 1)[0] if len(joined) == CONTEXT_MAX_CHARS else joined) \
        or ""


def mark_extraction_failed(
    session: Session, *, row_id: int, content_hash: str, extractor_version: str
) -> None:
    """Record that this content could not be extracted by this extractor version.

    The ticket is not offered for extraction again until its content or the extractor changes,
    so one poisonous ticket cannot stall every later run; any older resolution is retracted.
    """
    ticket = session.get(TicketRow, row_id)
    if ticket is None:
        raise StoreError(f"ticket row {row_id} does not exist")
    session.exec(delete(ResolutionRow).where(col(ResolutionRow.ticket_id) == row_id))
    ticket.extracted_hash = content_hash
    ticket.extracted_version = extractor_version
    session.add(ticket)
    session.flush()


def get_resolution(session: Session, *, source: str, external_id: str) -> Resolution | None:
    """The resolution of one ticket, by the ticket's source and external id, or None."""
    payload = session.exec(
        select(ResolutionRow.payload).where(col(ResolutionRow.source) == source,
                                            col(ResolutionRow.external_id) == external_id)
    ).first()
    return None if payload is None else Resolution.model_validate_json(payload)


def iter_resolutions(
    session: Session, *, source: str | None = None, usable_only: bool = False
) -> Iterator[Resolution]:
    """Every stored resolution in row order, fetched a page at a time."""
    last_id = 0
    while True:
        stmt = (
            select(ResolutionRow.id, ResolutionRow.payload)
            .where(col(ResolutionRow.id) > last_id)
            .order_by(col(ResolutionRow.id))
            .limit(_PAGE)
        )
        if source is not None:
            stmt = stmt.where(col(ResolutionRow.source) == source)
        if usable_only:
            stmt = stmt.where(col(ResolutionRow.usable).is_(True))
        page = session.exec(stmt).all()
        for _, payload in page:
            yield Resolution.model_validate_json(payload)
        if len(page) < _PAGE:
            return
        last_id = page[-1][0]


def _evidence_rows(resolution_id: int, resolution: Resolution) -> Iterator[EvidenceRow]:
    """One row per evidence span of every evidenced field and list item."""
    for field_name, item_index, evidence in resolution.evidence_spans():
        yield _evidence_row(resolution_id, field_name, item_index, evidence)


def _evidence_row(
    resolution_id: int, field_name: str, item_index: int, evidence: Evidence
) -> EvidenceRow:
    return EvidenceRow(
        resolution_id=resolution_id,
        field_name=field_name,
        item_index=item_index,
        evidence_field=evidence.field,
        note_id=evidence.note_id,
        start=evidence.start,
        end=evidence.end,
        text=nul_free(evidence.text) or "",
    )
