"""The status report behind `fixedit status` and the API: complete and JSON-ready."""

from __future__ import annotations

import json

import sqlalchemy as sa

from records import Cursor, Reject
from store import (
    count_rows,
    ensure_source,
    finish_run,
    pending_extraction,
    record_reject,
    save_resolution,
    session_scope,
    set_cursor,
    start_run,
    status_report,
    upsert_deal,
    upsert_ticket,
)
from tests.factories import make_deal, make_resolution, make_ticket


def test_empty_store_reports_zero_everywhere(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        report = status_report(session)
    assert report.sources == () and report.cursors == () and report.last_runs == ()
    assert report.counts == {"tickets": 0, "notes": 0, "resolutions": 0,
                             "usable_resolutions": 0, "quarantined": 0, "deals": 0}


def test_report_shows_sources_cursors_last_runs_and_counts(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        ensure_source(session, name="psa", kind="connectwise")
        ensure_source(session, name="crm", kind="hubspot")
        first = start_run(session, source="psa", kind="ticket", cursor_before=None)
        finish_run(session, run_id=first, status="failed", counts={"seen": 1},
                   cursor_after=None, error="RetriableError: 503")
        second = start_run(session, source="psa", kind="ticket", cursor_before=None)
        ticket = make_ticket(source="psa")
        upsert_ticket(session, ticket=ticket)
        upsert_deal(session, deal=make_deal(source="crm"))
        for item in pending_extraction(session, extractor_version="v1"):
            save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                            resolution=make_resolution(ticket=item.ticket))
        record_reject(session, source="psa", kind="ticket", run_id=second,
                      reject=Reject(external_id="9", reason="bad date"))
        set_cursor(session, source="psa", kind="ticket", cursor=Cursor(value="2024-06-01"))
        finish_run(session, run_id=second, status="succeeded",
                   counts={"seen": 2, "created": 1, "quarantined": 1, "extracted": 1},
                   cursor_after="2024-06-01")
    with session_scope(engine) as session:
        report = status_report(session)
        counts = count_rows(session)

    assert [(s.name, s.kind) for s in report.sources] == [("crm", "hubspot"),
                                                         ("psa", "connectwise")]
    assert [(c.source, c.kind, c.value, c.slice) for c in report.cursors] == [
        ("psa", "ticket", "2024-06-01", None)]
    [last] = report.last_runs
    assert (last.id, last.status, last.counts["created"]) == (second, "succeeded", 1)
    assert report.counts == counts == {"tickets": 1, "notes": 3, "resolutions": 1,
                                       "usable_resolutions": 1, "quarantined": 1, "deals": 1}

    plain = report.to_dict()
    assert json.loads(json.dumps(plain)) == plain
    assert plain["last_runs"][0]["finished_at"].endswith("+00:00")
    assert plain["cursors"][0]["updated_at"].endswith("+00:00")
