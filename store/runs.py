"""Sync runs (what each run saw and changed) and the quarantine of records that failed checks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select, update

from records import Reject, StoreError
from store.tables import QuarantineRow, SyncRunRow, nul_free, utcnow

log = logging.getLogger(__name__)

RUN_COUNTS = (
    "seen", "created", "updated", "unchanged", "quarantined", "extracted", "deleted",
)
"""The counters a sync run keeps."""

FINAL_STATUSES = frozenset({"succeeded", "failed"})
"""The statuses a run may finish with."""

INTERRUPTED = "interrupted: the process stopped before the run finished"


@dataclass(frozen=True)
class RunStatus:
    """One sync run as the status report shows it."""

    id: int
    source: str
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    cursor_before: str | None
    cursor_after: str | None
    error: str | None


@dataclass(frozen=True)
class QuarantinedItem:
    """A record that failed validation, with the reason and the raw payload."""

    id: int
    source: str
    kind: str
    external_id: str | None
    reason: str
    payload: str
    run_id: int | None
    created_at: datetime


def start_run(session: Session, *, source: str, kind: str, cursor_before: str | None) -> int:
    """Record that a sync run started and return its id.

    Earlier runs of the same source and kind still marked running were cut short (the daemon
    was killed): they are marked failed, so the report does not show them running forever.
    """
    stale = session.exec(
        update(SyncRunRow)
        .where(col(SyncRunRow.source) == source, col(SyncRunRow.kind) == kind,
               col(SyncRunRow.status) == "running")
        .values(status="failed", finished_at=utcnow(), error=INTERRUPTED)
    )
    if stale.rowcount:
        log.warning("marked %d unfinished %s/%s run(s) as interrupted",
                    stale.rowcount, source, kind)
    row = SyncRunRow(source=source, kind=kind, started_at=utcnow(), status="running",
                     cursor_before=cursor_before)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def finish_run(
    session: Session,
    *,
    run_id: int,
    status: str,
    counts: Mapping[str, int],
    cursor_after: str | None,
    error: str | None = None,
) -> None:
    """Record how a run ended: "succeeded" or "failed", its counts, the cursor it reached."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"a run finishes as one of {sorted(FINAL_STATUSES)}, not {status!r}")
    unknown = set(counts) - set(RUN_COUNTS)
    if unknown:
        raise ValueError(f"unknown run counts {sorted(unknown)}; known: {list(RUN_COUNTS)}")
    row = session.get(SyncRunRow, run_id)
    if row is None:
        raise StoreError(f"sync run {run_id} does not exist")
    row.status = status
    row.finished_at = utcnow()
    for name, value in counts.items():
        setattr(row, name, int(value))
    row.cursor_after = cursor_after
    row.error = nul_free(error)
    session.add(row)
    session.flush()


def get_run(session: Session, *, run_id: int) -> RunStatus | None:
    """One sync run by id, or None."""
    row = session.get(SyncRunRow, run_id)
    return None if row is None else run_status(row)


def recent_runs(session: Session, *, source: str | None = None, limit: int = 20) -> list[RunStatus]:
    """The newest sync runs first, optionally of one source."""
    stmt = select(SyncRunRow).order_by(col(SyncRunRow.id).desc()).limit(limit)
    if source is not None:
        stmt = stmt.where(col(SyncRunRow.source) == source)
    return [run_status(row) for row in session.exec(stmt)]


def run_status(row: SyncRunRow) -> RunStatus:
    """Convert a run row to its public form."""
    assert row.id is not None
    return RunStatus(
        id=row.id,
        source=row.source,
        kind=row.kind,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        counts={name: getattr(row, name) for name in RUN_COUNTS},
        cursor_before=row.cursor_before,
        cursor_after=row.cursor_after,
        error=row.error,
    )


def record_reject(
    session: Session, *, source: str, kind: str, reject: Reject, run_id: int | None
) -> None:
    """Quarantine a record that failed validation, with its reason and raw payload."""
    session.add(
        QuarantineRow(
            source=source,
            kind=kind,
            external_id=nul_free(reject.external_id),
            reason=nul_free(reject.reason) or "",
            payload=nul_free(reject.payload) or "",
            run_id=run_id,
            created_at=utcnow(),
        )
    )
    session.flush()


def list_quarantine(
    session: Session, *, source: str | None = None, limit: int = 100
) -> list[QuarantinedItem]:
    """The newest quarantined records first, optionally of one source."""
    stmt = select(QuarantineRow).order_by(col(QuarantineRow.id).desc()).limit(limit)
    if source is not None:
        stmt = stmt.where(col(QuarantineRow.source) == source)
    items = []
    for row in session.exec(stmt):
        assert row.id is not None
        items.append(
            QuarantinedItem(
                id=row.id, source=row.source, kind=row.kind, external_id=row.external_id,
                reason=row.reason, payload=row.payload, run_id=row.run_id,
                created_at=row.created_at,
            )
        )
    return items

