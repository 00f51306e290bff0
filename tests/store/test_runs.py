"""Sync runs and the quarantine: what the status report and an operator see after a sync."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from records import Reject, StoreError
from store import (
    count_rows,
    finish_run,
    get_run,
    list_quarantine,
    recent_runs,
    record_reject,
    session_scope,
    start_run,
)


def test_run_records_counts_cursors_and_outcome(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        run_id = start_run(session, source="cw", kind="ticket", cursor_before="2024-01-01")
    with session_scope(engine) as session:
        running = get_run(session, run_id=run_id)
        assert running is not None
        assert running.status == "running" and running.finished_at is None
        finish_run(session, run_id=run_id, status="succeeded",
                   counts={"seen": 5, "created": 3, "updated": 1, "unchanged": 1,
                           "extracted": 4},
                   cursor_after="2024-01-02")
    with session_scope(engine) as session:
        run = get_run(session, run_id=run_id)
    assert run is not None
    assert run.status == "succeeded"
    assert run.counts == {"seen": 5, "created": 3, "updated": 1, "unchanged": 1,
                          "quarantined": 0, "extracted": 4, "deleted": 0}
    assert (run.cursor_before, run.cursor_after, run.error) == ("2024-01-01", "2024-01-02", None)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.started_at.tzinfo is not None


def test_failed_run_keeps_its_error(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        run_id = start_run(session, source="cw", kind="ticket", cursor_before=None)
        finish_run(session, run_id=run_id, status="failed", counts={"seen": 2},
                   cursor_after=None, error="AuthError: 401 from ConnectWise")
    with session_scope(engine) as session:
        [run] = recent_runs(session, source="cw")
    assert run.status == "failed"
    assert run.error == "AuthError: 401 from ConnectWise"


def test_finish_run_rejects_unknown_status_counts_and_run(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        run_id = start_run(session, source="cw", kind="ticket", cursor_before=None)
        with pytest.raises(ValueError, match="running"):
            finish_run(session, run_id=run_id, status="running", counts={}, cursor_after=None)
        with pytest.raises(ValueError, match="rejected"):
            finish_run(session, run_id=run_id, status="succeeded", counts={"rejected": 1},
                       cursor_after=None)
        with pytest.raises(StoreError, match="12345"):
            finish_run(session, run_id=12345, status="succeeded", counts={}, cursor_after=None)


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        killed = start_run(session, source="cw", kind="ticket", cursor_before=None)
        other_kind = start_run(session, source="cw", kind="deal", cursor_before=None)
    with session_scope(engine) as session:
        start_run(session, source="cw", kind="ticket", cursor_before=None)
    with session_scope(engine) as session:
        interrupted = get_run(session, run_id=killed)
        untouched = get_run(session, run_id=other_kind)
    assert interrupted is not None and interrupted.status == "failed"
    assert interrupted.error is not None and "interrupted" in interrupted.error
    assert untouched is not None and untouched.status == "running"


def test_quarantine_keeps_reason_and_payload(engine: sa.Engine) -> None:
    payload = '{"id": 77, "summary": "caf\u00e9 \x00 with a NUL from the vendor"}'
    with session_scope(engine) as session:
        run_id = start_run(session, source="cw", kind="ticket", cursor_before=None)
        record_reject(session, source="cw", kind="ticket", run_id=run_id,
                      reject=Reject(external_id="77", reason="dateEntered: not a date",
                                    payload=payload))
        record_reject(session, source="csv", kind="ticket", run_id=None,
                      reject=Reject(reason="line 3: missing external_id"))
    with session_scope(engine) as session:
        assert count_rows(session)["quarantined"] == 2
        [item] = list_quarantine(session, source="cw")
    assert (item.external_id, item.reason, item.run_id) == ("77", "dateEntered: not a date",
                                                            run_id)
    assert item.payload == payload.replace("\x00", "\ufffd")
    assert item.created_at.tzinfo is not None
