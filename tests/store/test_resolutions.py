"""Extraction bookkeeping and stored resolutions: what was extracted, from which version, with
which evidence."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from records import Evidence, EvidencedText, Outcome, StoreError
from store import (
    count_rows,
    get_resolution,
    iter_resolutions,
    pending_extraction,
    save_resolution,
    session_scope,
    upsert_ticket,
)
from store import resolutions as resolutions_module
from store.tables import EvidenceRow, ResolutionRow
from tests.factories import make_note, make_resolution, make_ticket


def extract_all(session: Session, version: str = "test-1", **overrides: object) -> int:
    """Stand-in for the extractor: save a factory resolution for every pending ticket."""
    pending = pending_extraction(session, extractor_version=version)
    for item in pending:
        save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                        resolution=make_resolution(ticket=item.ticket, extractor_version=version,
                                                   **overrides))
    return len(pending)


def test_save_resolution_round_trips_the_record_and_its_evidence(engine: sa.Engine) -> None:
    ticket = make_ticket()
    resolution = make_resolution(ticket=ticket)
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
        [item] = pending_extraction(session, extractor_version="test-1")
        assert item.ticket == ticket
        save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                        resolution=resolution)
    with session_scope(engine) as session:
        assert get_resolution(session, source=ticket.source,
                              external_id=ticket.external_id) == resolution
        evidence = session.exec(
            select(EvidenceRow.field_name, EvidenceRow.item_index, EvidenceRow.evidence_field,
                   EvidenceRow.note_id, EvidenceRow.start, EvidenceRow.end, EvidenceRow.text)
            .order_by(col(EvidenceRow.field_name), col(EvidenceRow.item_index))
        ).all()
    note = f"{ticket.external_id}-2"
    assert [tuple(row) for row in evidence] == [
        ("cause", 0, "note", note, 0, 26, "Print Spooler service hung"),
        ("problem", 0, "description", None, 0, 41, "Jobs sit in the queue; nothing comes out."),
        ("products", 0, "note", note, 0, 16, "HP LaserJet M404"),
        ("steps", 0, "note", note, 0, 35, "Restarted the Print Spooler service"),
        ("steps", 1, "note", note, 41, 58, "cleared the queue"),
        ("symptoms", 0, "note", f"{ticket.external_id}-1", 0, 19, "jobs stuck in queue"),
        ("title", 0, "title", None, 0, 40, "Print jobs stuck in queue on HP LaserJet"),
        ("verification", 0, "note", note, 60, 77, "test page printed"),
    ]


def test_resaving_replaces_resolution_and_evidence(engine: sa.Engine) -> None:
    ticket = make_ticket()
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
        extract_all(session)
        [item] = pending_extraction(session, extractor_version="test-2")
        step = EvidencedText(text="Reinstalled the driver", evidence=[
            Evidence(field="note", note_id=f"{ticket.external_id}-2", start=3, end=9,
                     text="driver")])
        newer = make_resolution(ticket=ticket, steps=[step], cause=None, verification=None,
                                products=[], symptoms=[], extractor_version="test-2")
        save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                        resolution=newer)
    with session_scope(engine) as session:
        assert get_resolution(session, source=ticket.source,
                              external_id=ticket.external_id) == newer
        fields = session.exec(select(EvidenceRow.field_name).order_by(col(EvidenceRow.id))).all()
        assert sorted(fields) == ["problem", "steps", "title"]
        assert count_rows(session)["resolutions"] == 1


def test_pending_extraction_follows_content_and_extractor_version(engine: sa.Engine) -> None:
    first, second = make_ticket(), make_ticket()
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=first)
        upsert_ticket(session, ticket=second)
        assert [p.ticket for p in pending_extraction(session, extractor_version="v1")] == [
            first, second]
        assert extract_all(session, "v1") == 2
        assert pending_extraction(session, extractor_version="v1") == []
        # A new extractor version re-extracts everything ...
        assert len(pending_extraction(session, extractor_version="v2")) == 2
        # ... and an edited ticket only itself.
        edited = second.model_copy(update={"description": "Also the scanner."})
        assert upsert_ticket(session, ticket=edited) == "updated"
        assert [p.ticket for p in pending_extraction(session, extractor_version="v1")] == [edited]


def test_ticket_edited_during_extraction_stays_pending(engine: sa.Engine) -> None:
    ticket = make_ticket()
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
        [item] = pending_extraction(session, extractor_version="v1")
        upsert_ticket(session, ticket=ticket.model_copy(update={"title": "Edited meanwhile"}))
        save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                        resolution=make_resolution(ticket=ticket, extractor_version="v1"))
        [again] = pending_extraction(session, extractor_version="v1")
        assert again.ticket.title == "Edited meanwhile"


def test_pending_extraction_pages_and_filters_by_source(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        for source in ("a", "b", "a", "a"):
            upsert_ticket(session, ticket=make_ticket(source=source))
        first = pending_extraction(session, extractor_version="v1", source="a", limit=2)
        rest = pending_extraction(session, extractor_version="v1", source="a",
                                  after_id=first[-1].row_id)
    assert [p.ticket.source for p in first + rest] == ["a", "a", "a"]
    assert len({p.row_id for p in first + rest}) == 3


def test_save_resolution_for_the_wrong_ticket_is_refused(engine: sa.Engine) -> None:
    ticket = make_ticket()
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
        [item] = pending_extraction(session, extractor_version="v1")
        with pytest.raises(ValueError, match="given for ticket row"):
            save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                            resolution=make_resolution())


def test_iter_resolutions_streams_in_order_with_filters(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resolutions_module, "_PAGE", 2)  # force several pages
    tickets = [make_ticket(source="a" if n % 2 else "b") for n in range(5)]
    with session_scope(engine) as session:
        for ticket in tickets:
            upsert_ticket(session, ticket=ticket)
        for n, item in enumerate(pending_extraction(session, extractor_version="v1")):
            unusable = {"steps": [], "outcome": Outcome.UNKNOWN} if n == 1 else {}
            save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                            resolution=make_resolution(ticket=item.ticket, **unusable))
    with session_scope(engine) as session:
        every = [r.ticket.external_id for r in iter_resolutions(session)]
        from_a = [r.ticket.external_id for r in iter_resolutions(session, source="a")]
        usable = [r.ticket.external_id for r in iter_resolutions(session, usable_only=True)]
        counts = count_rows(session)
    assert every == [t.external_id for t in tickets]
    assert from_a == [t.external_id for t in tickets if t.source == "a"]
    assert usable == [t.external_id for n, t in enumerate(tickets) if n != 1]
    assert (counts["resolutions"], counts["usable_resolutions"]) == (5, 4)


def test_context_text_keeps_the_tickets_own_words_cleaned_and_capped(engine: sa.Engine) -> None:
    notes = [make_note(external_id="n-1", text="<p>The sticker machine spits out <b>blank</b>"
                                                " labels &amp; jams.</p>"),
             make_note(external_id="n-2", text="Recalibrated it.\n\n-- \nSam Smith\nContoso IT"
                                                "\nTel 555-0100")]
    short = make_ticket(description="Dispatch cannot print parcel tags.", notes=notes)
    long = make_ticket(description="word " * 5_000, notes=[])
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=short)
        upsert_ticket(session, ticket=long)
        extract_all(session)
    with session_scope(engine) as session:
        stored = {external_id: context for external_id, context in session.exec(
            select(ResolutionRow.external_id, ResolutionRow.context_text))}
    text = stored[short.external_id]
    assert text == ("Dispatch cannot print parcel tags.\nThe sticker machine spits out blank labels"
                    " & jams.\nRecalibrated it.")
    capped = stored[long.external_id]
    assert 0 < len(capped) <= resolutions_module.CONTEXT_MAX_CHARS
    assert capped.endswith("word")


def test_context_text_of_an_empty_or_odd_payload_is_empty() -> None:
    assert resolutions_module.context_text("") == ""
    assert resolutions_module.context_text("[]") == ""
    assert resolutions_module.context_text('{"description": 3, "notes": [null, {"text": 1}]}') \
        == ""
    with pytest.raises(StoreError):
        resolutions_module.context_text("{not json")
