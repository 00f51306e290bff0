"""One sync run: pull batches, store them with their cursor atomically, extract what changed.

Crash safety rests on two rules. First, a batch's raw items, its quarantined rejects and the cursor
after it are written in ONE transaction, so the stored cursor never runs ahead of stored data.
Second, extraction is driven by the store, not by the batch: a ticket whose content hash (or the
extractor version) differs from what its resolution was built from is "pending", so a run that
died between storing and extracting simply finishes the job next time.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

import store
from connectors.base import ApiConnector, Connector
from extract import EXTRACTOR_VERSION, Extractor, redact_deal, redact_text, redact_ticket
from extract.pii import RedactionSettings
from records import (
    Batch,
    Cursor,
    Deal,
    ExtractionError,
    FixeditError,
    Reject,
    Resolution,
    Ticket,
)

log = logging.getLogger(__name__)

COUNT_KEYS = ("seen", "created", "updated", "unchanged", "quarantined", "extracted", "deleted")
RECONCILE_KIND = "reconcile:ticket"
"""The sync-state key under which the time of the last id reconciliation is kept."""


@dataclass
class SyncReport:
    """What one sync run of one source and kind did."""

    source: str
    kind: str
    run_id: int
    status: str = "running"
    counts: Counter[str] = field(default_factory=Counter)
    redacted: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None
    error: str | None = None


ProgressCallback = Callable[[SyncReport], None]


def extract_pending(
    engine: Engine,
    *,
    extractor: Extractor,
    source: str | None = None,
    batch_size: int = 200,
) -> int:
    """Extract every stored ticket whose resolution is missing or stale; return how many."""
    done = 0
    while True:
        with store.session_scope(engine) as session:
            pending = store.pending_extraction(
                session, extractor_version=EXTRACTOR_VERSION, source=source, limit=batch_size
            )
            if not pending:
                return done
            try:
                resolutions = list(extractor.extract_many(item.ticket for item in pending))
            except ExtractionError:
                # One ticket spoiled the batch: extract one by one, setting the bad ones aside.
                resolutions = [_extract_one(session, extractor, item) for item in pending]
            for item, resolution in zip(pending, resolutions, strict=True):
                if resolution is not None:
                    store.save_resolution(session, row_id=item.row_id,
                                          content_hash=item.content_hash, resolution=resolution)
            done += sum(resolution is not None for resolution in resolutions)


def _extract_one(
    session: Session, extractor: Extractor, item: store.PendingTicket
) -> Resolution | None:
    try:
        return extractor.extract(item.ticket)
    except ExtractionError as exc:
        log.warning("ticket %s/%s could not be extracted: %s", item.ticket.source,
                    item.ticket.external_id, exc)
        store.record_reject(session, source=item.ticket.source, kind="extraction",
                            reject=Reject(external_id=item.ticket.external_id, reason=str(exc)),
                            run_id=None)
        store.mark_extraction_failed(session, row_id=item.row_id,
                                     content_hash=item.content_hash,
                                     extractor_version=EXTRACTOR_VERSION)
        return None


def _store_batch(
    engine: Engine, *, batch: Batch, report: SyncReport, pii: RedactionSettings | None
) -> None:
    with store.session_scope(engine) as session:
        for item in batch.items:
            report.counts["seen"] += 1
            if isinstance(item, Ticket):
                clean, redactions = redact_ticket(item, pii=pii)
                report.redacted += redactions.total
                outcome = store.upsert_ticket(session, ticket=clean)
            elif isinstance(item, Deal):
                # A deal's notes (calls, meetings, e-mails) hold secrets as a ticket's do.
                clean_deal, redactions = redact_deal(item, pii=pii)
                report.redacted += redactions.total
                outcome = store.upsert_deal(session, deal=clean_deal)
            report.counts[outcome] += 1
        for reject in batch.rejects:
            report.counts["seen"] += 1
            report.counts["quarantined"] += 1
            # The reason may quote a rejected value (validation messages do), so it is redacted
            # like the payload; the log names the record only.
            payload, _ = redact_text(reject.payload, pii=pii)
            reason, _ = redact_text(reject.reason, pii=pii)
            log.warning("source %s: %s %s quarantined (reason kept in the store; see "
                        "`fixedit status`)", report.source, batch.kind,
                        reject.external_id or "without an id")
            store.record_reject(
                session,
                source=report.source,
                kind=batch.kind,
                reject=Reject(external_id=reject.external_id, reason=reason, payload=payload),
                run_id=report.run_id,
            )
        if batch.cursor is not None:
            store.set_cursor(session, source=report.source, kind=report.kind, cursor=batch.cursor)
            report.cursor_after = batch.cursor.value


def reconcile_deletions(
    engine: Engine, *, source: str, connector: ApiConnector, kind: str = "ticket"
) -> int:
    """List every id the source still has; mark stored items it no longer has as deleted.

    Their resolutions are retracted with them. An empty listing for a source we hold items of
    is taken for a glitch, not a mass deletion: nothing is marked and a warning is logged.
    """
    live = set(connector.reconcile(kind))
    with store.session_scope(engine) as session:
        stored = store.live_external_ids(session, source=source, kind=kind)
        gone = stored - live
        if not live and stored:
            log.warning("source %s: the id listing came back empty; %d stored %ss kept",
                        source, len(stored), kind)
            return 0
        return store.mark_deleted(session, source=source, kind=kind, external_ids=sorted(gone))


def _reconcile_due(engine: Engine, *, source: str, every: timedelta, now: datetime) -> bool:
    with store.session_scope(engine) as session:
        last = store.get_cursor(session, source=source, kind=RECONCILE_KIND)
    if last is None:
        return True
    return datetime.fromisoformat(last.value) + every <= now


def sync_source(
    engine: Engine,
    *,
    source: str,
    connector: Connector,
    kind: str = "ticket",
    extractor: Extractor,
    extract_batch_size: int = 200,
    reconcile_every: timedelta | None = None,
    redaction: RedactionSettings | None = None,
    on_progress: ProgressCallback | None = None,
) -> SyncReport:
    """Run one sync of `kind` from `connector` into the store, recorded as a sync run.

    With `reconcile_every` (API sources, kind "ticket"), the run ends by listing the source's ids
    to find deletions when the last such listing is older than that.
    Returns the report; a connector or store failure marks the run failed and is re-raised after
    the run is recorded, with everything committed before it kept.
    """
    with store.session_scope(engine) as session:
        store.ensure_source(session, name=source, kind=connector.name)
        cursor = store.get_cursor(session, source=source, kind=kind)
        cursor_before = cursor.value if cursor else None
        run_id = store.start_run(session, source=source, kind=kind, cursor_before=cursor_before)
    report = SyncReport(source=source, kind=kind, run_id=run_id, cursor_before=cursor_before,
                        cursor_after=cursor_before)
    try:
        # Finish what an earlier, interrupted run stored but did not extract.
        report.counts["extracted"] += extract_pending(
            engine, extractor=extractor, source=source, batch_size=extract_batch_size
        )
        for batch in connector.pull(kind, since=cursor):
            _store_batch(engine, batch=batch, report=report, pii=redaction)
            report.counts["extracted"] += extract_pending(
                engine, extractor=extractor, source=source, batch_size=extract_batch_size
            )
            log.debug("source %s: batch of %d stored", source, len(batch.items))
            if on_progress is not None:
                on_progress(report)
        now = datetime.now(UTC)
        if (reconcile_every is not None and kind == "ticket"
                and isinstance(connector, ApiConnector)
                and _reconcile_due(engine, source=source, every=reconcile_every, now=now)):
            report.counts["deleted"] += reconcile_deletions(engine, source=source,
                                                            connector=connector)
            with store.session_scope(engine) as session:
                store.set_cursor(session, source=source, kind=RECONCILE_KIND,
                                 cursor=Cursor(value=now.isoformat()))
    except BaseException as exc:
        # Whatever stopped the run (a source error, a bug, Ctrl-C), leave an honest record of it;
        # everything committed before it stays.
        report.status = "failed"
        report.error = str(exc) if isinstance(exc, FixeditError) else f"{type(exc).__name__}: {exc}"
        _finish(engine, report)
        raise
    report.status = "succeeded"
    _finish(engine, report)
    log.info(
        "source %s (%s): %d seen, %d created, %d updated, %d unchanged, %d quarantined, "
        "%d extracted, %d deleted",
        source, kind, *(report.counts[key] for key in COUNT_KEYS),
    )
    return report


def _finish(engine: Engine, report: SyncReport) -> None:
    with store.session_scope(engine) as session:
        store.finish_run(
            session,
            run_id=report.run_id,
            status=report.status,
            counts={key: report.counts[key] for key in COUNT_KEYS},
            cursor_after=report.cursor_after,
            error=report.error,
        )
