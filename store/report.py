"""What the store holds and how the syncs are doing: row counts and the status report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from store.runs import RunStatus, run_status
from store.tables import (
    DealRow,
    NoteRow,
    QuarantineRow,
    ResolutionRow,
    SourceRow,
    SyncRunRow,
    SyncStateRow,
    TicketRow,
)


@dataclass(frozen=True)
class SourceStatus:
    """A registered source."""

    name: str
    kind: str
    created_at: datetime


@dataclass(frozen=True)
class CursorStatus:
    """Where the sync of one source and kind has got to."""

    source: str
    kind: str
    value: str
    slice: str | None
    updated_at: datetime


@dataclass(frozen=True)
class StatusReport:
    """Sources, their cursors, the last run of each source and kind, and row counts."""

    sources: tuple[SourceStatus, ...]
    cursors: tuple[CursorStatus, ...]
    last_runs: tuple[RunStatus, ...]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only: datetimes as ISO 8601 strings, tuples as lists."""
        result = _jsonable(asdict(self))
        assert isinstance(result, dict)
        return result


def count_rows(session: Session) -> dict[str, int]:
    """How many live tickets, notes, resolutions (all and usable), quarantined records and
    live deals the store holds."""
    queries = {
        "tickets": select(func.count()).select_from(TicketRow)
        .where(col(TicketRow.deleted_at).is_(None)),
        "notes": select(func.count()).select_from(NoteRow),
        "resolutions": select(func.count()).select_from(ResolutionRow),
        "usable_resolutions": select(func.count()).select_from(ResolutionRow)
        .where(col(ResolutionRow.usable).is_(True)),
        "quarantined": select(func.count()).select_from(QuarantineRow),
        "deals": select(func.count()).select_from(DealRow)
        .where(col(DealRow.deleted_at).is_(None)),
    }
    return {name: int(session.exec(query).one()) for name, query in queries.items()}


def status_report(session: Session) -> StatusReport:
    """A snapshot of the store for `fixedit status` and the API."""
    sources = tuple(
        SourceStatus(name=row.name, kind=row.kind, created_at=row.created_at)
        for row in session.exec(select(SourceRow).order_by(col(SourceRow.name)))
    )
    cursors = tuple(
        CursorStatus(source=row.source, kind=row.kind, value=row.cursor_value,
                     slice=row.cursor_slice, updated_at=row.updated_at)
        for row in session.exec(
            select(SyncStateRow).order_by(col(SyncStateRow.source), col(SyncStateRow.kind))
        )
    )
    newest = (
        select(func.max(SyncRunRow.id))
        .group_by(col(SyncRunRow.source), col(SyncRunRow.kind))
        .scalar_subquery()
    )
    last_runs = tuple(
        run_status(row)
        for row in session.exec(
            select(SyncRunRow).where(col(SyncRunRow.id).in_(newest))
            .order_by(col(SyncRunRow.source), col(SyncRunRow.kind))
        )
    )
    return StatusReport(sources=sources, cursors=cursors, last_runs=last_runs,
                        counts=count_rows(session))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value
