"""Sources and cursors: the cursor is only as durable as the transaction that wrote it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from records import ConfigError, Cursor
from store import (
    ensure_source,
    get_cursor,
    get_ticket,
    session_scope,
    set_cursor,
    status_report,
    upsert_ticket,
)
from tests.factories import make_ticket


def test_cursor_round_trip_per_source_and_kind(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        assert get_cursor(session, source="cw", kind="ticket") is None
        set_cursor(session, source="cw", kind="ticket",
                   cursor=Cursor(value="2024-05-01T00:00:00Z", slice="981"))
        set_cursor(session, source="cw", kind="deal", cursor=Cursor(value="7"))
    with session_scope(engine) as session:
        assert get_cursor(session, source="cw", kind="ticket") == Cursor(
            value="2024-05-01T00:00:00Z", slice="981")
        assert get_cursor(session, source="cw", kind="deal") == Cursor(value="7")
        set_cursor(session, source="cw", kind="ticket", cursor=Cursor(value="2024-05-02T00:00:00Z"))
    with session_scope(engine) as session:
        assert get_cursor(session, source="cw", kind="ticket") == Cursor(
            value="2024-05-02T00:00:00Z")


def test_a_crash_before_commit_keeps_the_old_cursor_and_no_rows(engine: sa.Engine) -> None:
    """The pipeline writes rows and cursor together; a crash mid-batch loses neither half alone."""
    with session_scope(engine) as session:
        set_cursor(session, source="cw", kind="ticket", cursor=Cursor(value="old"))
    ticket = make_ticket(source="cw")
    with pytest.raises(KeyboardInterrupt), session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
        set_cursor(session, source="cw", kind="ticket", cursor=Cursor(value="new"))
        raise KeyboardInterrupt  # the daemon is killed before the commit
    with Session(engine) as session:
        assert get_cursor(session, source="cw", kind="ticket") == Cursor(value="old")
        assert get_ticket(session, source="cw", external_id=ticket.external_id) is None


def test_ensure_source_is_idempotent_and_refuses_a_kind_change(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        ensure_source(session, name="main-psa", kind="connectwise")
        ensure_source(session, name="main-psa", kind="connectwise")
    with pytest.raises(ConfigError, match="main-psa"), session_scope(engine) as session:
        ensure_source(session, name="main-psa", kind="autotask")
    with session_scope(engine) as session:
        assert [(s.name, s.kind) for s in status_report(session).sources] == [
            ("main-psa", "connectwise")]
