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

from sqlalchemy import Engine

import store
from connectors.base import Connector
from extract import EXTRACTOR_VERSION, Extractor, redact_text, redact_ticket
from records import Batch, Deal, FixeditError, Reject, Ticket

log = logging.getLogger(__name__)

COUNT_KEYS = ("seen", "created", "updated", "unchanged", "quarantined", "extracted")


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
            resolutions = extractor.extract_many(item.ticket for item in pending)
            for item, resolution in zip(pending, resolutions, strict=True):
                store.save_resolution(
                    session,
                    row_id=item.row_id,
                    content_hash=item.content_hash,
                    resolution=resolution,
                )
            done += len(pending)


def _store_batch(engine: Engine, *, batch: Batch, report: SyncReport) -> None:
    with store.session_scope(engine) as session:
        for item in batch.items:
            report.counts["seen"] += 1
            if isinstance(item, Ticket):
                clean, redactions = redact_ticket(item)
                report.redacted += redactions.total
                outcome = store.upsert_ticket(session, ticket=clean)
            elif isinstance(item, Deal):
                outcome = store.upsert_deal(session, deal=item)
            report.counts[outcome] += 1
        for reject in batch.rejects:
            report.counts["seen"] += 1
            report.counts["quarantined"] += 1
            payload, _ = redact_text(reject.payload)
            store.record_reject(
                session,
                source=report.source,
                kind=batch.kind,
                reject=Reject(external_id=reject.external_id, reason=reject.reason,
                              payload=payload),
                run_id=report.run_id,
            )
        if batch.cursor is not None:
            store.set_cursor(session, source=report.source, kind=report.kind, cursor=batch.cursor)
            report.cursor_after = batch.cursor.value


def sync_source(
    engine: Engine,
    *,
    source: str,
    connector: Connector,
    kind: str = "ticket",
    extractor: Extractor,
    extract_batch_size: int = 200,
    on_progress: ProgressCallback | None = None,
) -> SyncReport:
    """Run one sync of `kind` from `connector` into the store, recorded as a sync run.

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
            _store_batch(engine, batch=batch, report=report)
            report.counts["extracted"] += extract_pending(
                engine, extractor=extractor, source=source, batch_size=extract_batch_size
            )
            log.debug("source %s: batch of %d stored", source, len(batch.items))
            if on_progress is not None:
                on_progress(report)
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
        "%d extracted",
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
