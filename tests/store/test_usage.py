"""The usage log: lookups keep their outcome (never the query) and feedback must point at
something that exists."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from records import StoreError
from store import pending_extraction, save_resolution, session_scope, upsert_ticket
from store.lookup import Match
from store.tables import FeedbackRow, LookupRow, ResolutionRow
from store.usage import record_feedback, record_lookup
from tests.factories import make_resolution, make_ticket


def _stored_resolution(session: Session) -> tuple[int, Match]:
    ticket = make_ticket()
    upsert_ticket(session, ticket=ticket)
    [item] = pending_extraction(session, extractor_version="test-1")
    resolution = make_resolution(ticket=ticket)
    save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                    resolution=resolution)
    row_id = session.exec(select(ResolutionRow.id)).one()
    assert row_id is not None
    return row_id, Match(resolution_id=row_id, resolution=resolution, score=7.5, confident=True)


def test_record_lookup_keeps_the_outcome_only(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        resolution_id, match = _stored_resolution(session)
        weak = Match(resolution_id=resolution_id, resolution=match.resolution, score=1.0,
                     confident=False)
        lookup_id = record_lookup(session, channel="api", matches=[match, weak],
                                  company="Acme Dental")
        empty_id = record_lookup(session, channel="mcp", matches=[])
    with session_scope(engine) as session:
        row = session.get(LookupRow, lookup_id)
        empty = session.get(LookupRow, empty_id)
    assert row is not None and empty is not None
    assert (row.channel, row.company, row.matches, row.top_score, row.top_resolution_id,
            row.confident) == ("api", "Acme Dental", 2, 7.5, resolution_id, True)
    assert (empty.channel, empty.matches, empty.top_score, empty.top_resolution_id,
            empty.confident) == ("mcp", 0, None, None, False)
    assert not hasattr(row, "query")


def test_record_lookup_drops_an_unknown_top_resolution_id(engine: sa.Engine) -> None:
    """An index a refresh behind may name a resolution deleted meanwhile (or id 0)."""
    with session_scope(engine) as session:
        _, match = _stored_resolution(session)
        ghost = Match(resolution_id=99_999, resolution=match.resolution, score=3.0,
                      confident=False)
        lookup_id = record_lookup(session, channel="suggest", matches=[ghost])
    with session_scope(engine) as session:
        row = session.get(LookupRow, lookup_id)
        assert row is not None and row.top_resolution_id is None and row.matches == 1


def test_record_lookup_rejects_an_unknown_channel(session: Session) -> None:
    with pytest.raises(ValueError, match="channel"):
        record_lookup(session, channel="email", matches=[])


def test_record_feedback_links_resolution_and_lookup(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        resolution_id, match = _stored_resolution(session)
        lookup_id = record_lookup(session, channel="api", matches=[match])
        feedback_id = record_feedback(session, resolution_id=resolution_id, helpful=True,
                                      lookup_id=lookup_id, comment="  worked first time \x00 ")
        blank_id = record_feedback(session, resolution_id=resolution_id, helpful=False,
                                   comment="   ")
    with session_scope(engine) as session:
        row = session.get(FeedbackRow, feedback_id)
        blank = session.get(FeedbackRow, blank_id)
    assert row is not None and blank is not None
    assert (row.resolution_id, row.lookup_id, row.helpful) == (resolution_id, lookup_id, True)
    assert row.comment == "worked first time \ufffd"
    assert (blank.helpful, blank.comment, blank.lookup_id) == (False, None, None)


def test_record_feedback_refuses_what_does_not_exist(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        resolution_id, _ = _stored_resolution(session)
    with session_scope(engine) as session:
        with pytest.raises(StoreError, match="resolution 424242 does not exist"):
            record_feedback(session, resolution_id=424242, helpful=True)
        with pytest.raises(StoreError, match="lookup 77 does not exist"):
            record_feedback(session, resolution_id=resolution_id, helpful=True, lookup_id=77)
    with session_scope(engine) as session:
        assert session.exec(select(FeedbackRow)).all() == []
