"""The suggestion job's ledger: which newly opened tickets were handled, and how.

One row per ticket (unique), so a note is never posted twice: a ticket whose note was posted is
never picked again; one whose post failed is picked again on the next run; one handled in
dry-run mode is picked again once the source posts for real; one with no match stays handled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlmodel import Session, col, or_, select

from records import StoreError, Ticket
from store.tables import SUGGESTION_STATUSES, SuggestionRow, TicketRow, nul_free, utcnow

RETRIED = ("failed",)
"""Statuses picked up again on every run."""
RETRIED_WHEN_LIVE = ("failed", "dry_run")
"""Statuses picked up again when the source really posts."""
MAX_DETAIL = 1000


@dataclass(frozen=True)
class NewTicket:
    """An open ticket the suggestion job has not handled yet (or must handle again)."""

    row_id: int
    ticket: Ticket
    previous_status: str | None


@dataclass(frozen=True)
class Suggestion:
    """What the suggestion job did for one ticket."""

    id: int
    ticket_row_id: int
    status: str
    lookup_id: int | None
    resolution_ids: list[int]
    detail: str | None
    created_at: datetime


def new_tickets(
    session: Session,
    *,
    source: str,
    opened_after: datetime,
    retry_dry_run: bool = False,
    limit: int = 200,
) -> list[NewTicket]:
    """Open, live tickets of `source` opened after `opened_after` that still need a suggestion,
    oldest first: never handled, failed before, or (with `retry_dry_run`) only dry-run."""
    again = RETRIED_WHEN_LIVE if retry_dry_run else RETRIED
    rows = session.exec(
        select(TicketRow.id, TicketRow.payload, SuggestionRow.status)
        .outerjoin(SuggestionRow, col(SuggestionRow.ticket_id) == col(TicketRow.id))
        .where(
            col(TicketRow.source) == source,
            col(TicketRow.closed_at).is_(None),
            col(TicketRow.deleted_at).is_(None),
            col(TicketRow.created_at) >= opened_after,
            or_(col(SuggestionRow.id).is_(None), col(SuggestionRow.status).in_(again)),
        )
        .order_by(col(TicketRow.created_at), col(TicketRow.id))
        .limit(limit)
    ).all()
    found = []
    for row_id, payload, status in rows:
        assert row_id is not None
        try:
            ticket = Ticket.model_validate_json(payload)
        except ValidationError as exc:
            raise StoreError(f"stored ticket row {row_id} no longer matches the Ticket contract"
                             ) from exc
        found.append(NewTicket(row_id=row_id, ticket=ticket, previous_status=status))
    return found


def record_suggestion(
    session: Session,
    *,
    ticket_row_id: int,
    status: str,
    lookup_id: int | None = None,
    resolution_ids: Sequence[int] = (),
    detail: str | None = None,
) -> int:
    """Record what was done for a ticket (replacing a failed or dry-run record); the row id.

    Refuses (StoreError) to overwrite a posted suggestion: that note exists in the PSA.
    """
    if status not in SUGGESTION_STATUSES:
        raise ValueError(f"unknown suggestion status {status!r}; expected {SUGGESTION_STATUSES}")
    if session.get(TicketRow, ticket_row_id) is None:
        raise StoreError(f"ticket row {ticket_row_id} does not exist")
    row = session.exec(
        select(SuggestionRow).where(col(SuggestionRow.ticket_id) == ticket_row_id)
    ).first()
    if row is not None and row.status == "posted":
        raise StoreError(f"ticket row {ticket_row_id} already has a posted suggestion")
    values = {
        "status": status,
        "lookup_id": lookup_id,
        "resolution_ids": json.dumps(list(resolution_ids)),
        "detail": nul_free(detail[:MAX_DETAIL]) if detail else None,
        "created_at": utcnow(),
    }
    if row is None:
        row = SuggestionRow(ticket_id=ticket_row_id, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def get_suggestion(session: Session, *, ticket_row_id: int) -> Suggestion | None:
    """The suggestion record of one ticket row, or None when it was never handled."""
    row = session.exec(
        select(SuggestionRow).where(col(SuggestionRow.ticket_id) == ticket_row_id)
    ).first()
    if row is None:
        return None
    assert row.id is not None
    return Suggestion(id=row.id, ticket_row_id=row.ticket_id, status=row.status,
                      lookup_id=row.lookup_id, resolution_ids=json.loads(row.resolution_ids),
                      detail=row.detail, created_at=row.created_at)


def ticket_row_id(session: Session, *, source: str, external_id: str) -> int | None:
    """The row id of a stored ticket, or None."""
    return session.exec(
        select(TicketRow.id).where(col(TicketRow.source) == source,
                                   col(TicketRow.external_id) == external_id)
    ).first()
