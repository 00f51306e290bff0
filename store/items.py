"""Raw tickets and deals with their notes: upserts keyed on (source, external id), soft deletes."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError
from sqlmodel import Session, col, delete, or_, select, update

from records import Deal, Note, StoreError, Ticket
from store.tables import DealRow, NoteRow, ResolutionRow, TicketRow, nul_free, utcnow

log = logging.getLogger(__name__)

UpsertResult = Literal["created", "updated", "unchanged"]
"""What an upsert did to the stored item."""

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class PendingTicket:
    """A stored ticket the extractor has not yet seen in its current form."""

    row_id: int
    content_hash: str
    ticket: Ticket


def upsert_ticket(session: Session, *, ticket: Ticket) -> UpsertResult:
    """Store a ticket and its notes; an unchanged ticket (same content hash) is not written."""
    digest = ticket.content_hash()
    row = session.exec(
        select(TicketRow).where(col(TicketRow.source) == ticket.source,
                                col(TicketRow.external_id) == ticket.external_id)
    ).first()
    if row is not None and row.content_hash == digest and _deleted(row) == ticket.deleted:
        return "unchanged"
    result: UpsertResult = "created" if row is None else "updated"
    if row is None:
        row = TicketRow(source=ticket.source, external_id=ticket.external_id,
                        created_at=ticket.created_at, updated_at=ticket.updated_at,
                        content_hash=digest, payload="")
    row.title = ticket.title
    row.company = nul_free(ticket.company)
    row.status = nul_free(ticket.status)
    row.board = nul_free(ticket.board)
    row.assignee = nul_free(ticket.assignee)
    row.created_at = ticket.created_at
    row.updated_at = ticket.updated_at
    row.closed_at = ticket.closed_at
    row.content_hash = digest
    row.payload = ticket.model_dump_json()
    session.add(row)
    session.flush()
    assert row.id is not None
    if result == "updated":
        session.exec(delete(NoteRow).where(col(NoteRow.ticket_id) == row.id))
    session.add_all(_note_row(note, ticket_id=row.id) for note in ticket.notes)
    if ticket.deleted:
        if row.deleted_at is None:
            _delete_resolutions(session, [row.id])
            row.deleted_at = utcnow()
            row.extracted_hash = row.extracted_version = None
    else:
        row.deleted_at = None
    session.add(row)
    session.flush()
    return result


def upsert_deal(session: Session, *, deal: Deal) -> UpsertResult:
    """Store a deal and its notes; an unchanged deal (same content hash) is not written."""
    digest = deal.content_hash()
    row = session.exec(
        select(DealRow).where(col(DealRow.source) == deal.source,
                              col(DealRow.external_id) == deal.external_id)
    ).first()
    if row is not None and row.content_hash == digest and _deleted(row) == deal.deleted:
        return "unchanged"
    result: UpsertResult = "created" if row is None else "updated"
    if row is None:
        row = DealRow(source=deal.source, external_id=deal.external_id,
                      created_at=deal.created_at, updated_at=deal.updated_at,
                      content_hash=digest, payload="")
    row.name = nul_free(deal.name) or ""
    row.company = nul_free(deal.company)
    row.stage = nul_free(deal.stage)
    row.amount = deal.amount
    row.currency = nul_free(deal.currency)
    row.owner = nul_free(deal.owner)
    row.close_date = deal.close_date
    row.created_at = deal.created_at
    row.updated_at = deal.updated_at
    row.content_hash = digest
    row.payload = deal.model_dump_json()
    if deal.deleted:
        if row.deleted_at is None:
            row.deleted_at = utcnow()
            row.extracted_hash = row.extracted_version = None
    else:
        row.deleted_at = None
    session.add(row)
    session.flush()
    assert row.id is not None
    if result == "updated":
        session.exec(delete(NoteRow).where(col(NoteRow.deal_id) == row.id))
    session.add_all(_note_row(note, deal_id=row.id) for note in deal.notes)
    session.flush()
    return result


def mark_deleted(session: Session, *, source: str, kind: str, external_ids: Iterable[str]) -> int:
    """Soft-delete items the source reports deleted and retract what was extracted from them.

    Returns how many stored items were newly marked deleted.
    """
    table = _table(kind)
    ids = list(dict.fromkeys(external_ids))
    marked = 0
    now = utcnow()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        row_ids = list(session.exec(
            select(table.id).where(col(table.source) == source,
                                   col(table.external_id).in_(chunk),
                                   col(table.deleted_at).is_(None))
        ))
        if not row_ids:
            continue
        if table is TicketRow:
            _delete_resolutions(session, row_ids)
        result = session.exec(
            update(table).where(col(table.id).in_(row_ids))
            .values(deleted_at=now, extracted_hash=None, extracted_version=None)
        )
        marked += result.rowcount
    session.flush()
    if marked:
        log.info("marked %d %s(s) of %s deleted", marked, kind, source)
    return marked


def live_external_ids(session: Session, *, source: str, kind: str) -> set[str]:
    """External ids of the stored, not deleted items of `kind` from `source`."""
    table = _table(kind)
    return set(session.exec(
        select(table.external_id).where(col(table.source) == source,
                                        col(table.deleted_at).is_(None))
    ))


def _table(kind: str) -> type[TicketRow] | type[DealRow]:
    if kind == "ticket":
        return TicketRow
    if kind == "deal":
        return DealRow
    raise ValueError(f"no stored items of kind {kind!r}")


def pending_extraction(
    session: Session,
    *,
    extractor_version: str,
    source: str | None = None,
    limit: int = 500,
    after_id: int = 0,
) -> list[PendingTicket]:
    """Live tickets whose content or extractor changed since they were last extracted.

    Ordered by row id; pass the last `row_id` as `after_id` to page past tickets that failed.
    """
    stmt = (
        select(TicketRow.id, TicketRow.content_hash, TicketRow.payload)
        .where(
            col(TicketRow.deleted_at).is_(None),
            col(TicketRow.id) > after_id,
            or_(
                col(TicketRow.extracted_hash).is_(None),
                col(TicketRow.extracted_hash) != col(TicketRow.content_hash),
                col(TicketRow.extracted_version).is_(None),
                col(TicketRow.extracted_version) != extractor_version,
            ),
        )
        .order_by(col(TicketRow.id))
        .limit(limit)
    )
    if source is not None:
        stmt = stmt.where(col(TicketRow.source) == source)
    pending = []
    for row_id, content_hash, payload in session.exec(stmt):
        pending.append(PendingTicket(row_id=row_id, content_hash=content_hash,
                                     ticket=_load_ticket(row_id, payload)))
    return pending


def get_ticket(session: Session, *, source: str, external_id: str) -> Ticket | None:
    """A stored ticket (deleted or not) by its source and external id, or None."""
    row = session.exec(
        select(TicketRow.id, TicketRow.payload).where(col(TicketRow.source) == source,
                                                      col(TicketRow.external_id) == external_id)
    ).first()
    return None if row is None else _load_ticket(row[0], row[1])


def get_deal(session: Session, *, source: str, external_id: str) -> Deal | None:
    """A stored deal (deleted or not) by its source and external id, or None."""
    payload = session.exec(
        select(DealRow.payload).where(col(DealRow.source) == source,
                                      col(DealRow.external_id) == external_id)
    ).first()
    return None if payload is None else Deal.model_validate_json(payload)


def _load_ticket(row_id: int, payload: str) -> Ticket:
    try:
        return Ticket.model_validate_json(payload)
    except ValidationError as exc:
        raise StoreError(f"stored ticket row {row_id} no longer matches the Ticket contract"
                         ) from exc


def _deleted(row: TicketRow | DealRow) -> bool:
    return row.deleted_at is not None


def _note_row(note: Note, *, ticket_id: int | None = None, deal_id: int | None = None) -> NoteRow:
    return NoteRow(
        ticket_id=ticket_id,
        deal_id=deal_id,
        external_id=note.external_id,
        kind=note.kind.value,
        author=nul_free(note.author),
        author_role=note.author_role.value,
        created_at=note.created_at,
        minutes=note.minutes,
        text=note.text,
    )


def _delete_resolutions(session: Session, ticket_ids: list[int]) -> None:
    """Retract what was extracted from these tickets; a revived ticket is extracted again."""
    session.exec(delete(ResolutionRow).where(col(ResolutionRow.ticket_id).in_(ticket_ids)))
