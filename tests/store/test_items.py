"""Raw tickets and deals: idempotent upserts on (source, external id), notes, soft deletes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from records import Note, NoteKind
from store import (
    count_rows,
    get_deal,
    get_resolution,
    get_ticket,
    mark_deleted,
    pending_extraction,
    save_resolution,
    session_scope,
    upsert_deal,
    upsert_ticket,
)
from store.tables import NoteRow, TicketRow
from tests.factories import make_deal, make_note, make_resolution, make_ticket


@contextmanager
def captured_writes(engine: sa.Engine) -> Iterator[list[str]]:
    """Collect the INSERT/UPDATE/DELETE statements sent while the block runs."""
    writes: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)

    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        yield writes
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)


def note_texts(session: Session, ticket_external_id: str) -> dict[str, str]:
    rows = session.exec(
        select(NoteRow.external_id, NoteRow.text)
        .join(TicketRow, col(TicketRow.id) == col(NoteRow.ticket_id))
        .where(col(TicketRow.external_id) == ticket_external_id)
    )
    return dict(rows.all())


def test_upsert_reports_created_then_unchanged_then_updated(engine: sa.Engine) -> None:
    ticket = make_ticket()
    with session_scope(engine) as session:
        assert upsert_ticket(session, ticket=ticket) == "created"
    with session_scope(engine) as session:
        assert upsert_ticket(session, ticket=ticket) == "unchanged"
    changed = ticket.model_copy(update={"status": "Reopened",
                                        "updated_at": ticket.updated_at + timedelta(hours=2)})
    with session_scope(engine) as session:
        assert upsert_ticket(session, ticket=changed) == "updated"
    with session_scope(engine) as session:
        assert get_ticket(session, source=ticket.source, external_id=ticket.external_id) == changed
        assert count_rows(session)["tickets"] == 1


def test_unchanged_ticket_is_not_written_at_all(engine: sa.Engine) -> None:
    ticket = make_ticket()
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
    with captured_writes(engine) as writes, session_scope(engine) as session:
        assert upsert_ticket(session, ticket=ticket) == "unchanged"
    assert writes == []


def test_update_replaces_the_notes(engine: sa.Engine) -> None:
    ticket = make_ticket(notes=[make_note(external_id="a", text="first"),
                                make_note(external_id="b", text="second")])
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
    edited = ticket.model_copy(update={"notes": [
        make_note(external_id="b", text="second, edited"),
        make_note(external_id="c", text="third"),
    ]})
    with session_scope(engine) as session:
        assert upsert_ticket(session, ticket=edited) == "updated"
    with session_scope(engine) as session:
        assert note_texts(session, ticket.external_id) == {"b": "second, edited", "c": "third"}
        assert count_rows(session)["notes"] == 2


def test_same_external_id_in_two_sources_are_two_tickets(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        assert upsert_ticket(session, ticket=make_ticket(source="cw", external_id="1")) == "created"
        assert upsert_ticket(session, ticket=make_ticket(source="at", external_id="1")) == "created"
        assert count_rows(session)["tickets"] == 2


def test_datetimes_come_back_utc_aware(engine: sa.Engine) -> None:
    plus_two = timezone(timedelta(hours=2))
    created = datetime(2024, 5, 6, 10, 0, tzinfo=plus_two)
    ticket = make_ticket(created_at=created, updated_at=created, closed_at=None)
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
    with Session(engine) as session:
        row = session.exec(select(TicketRow)).one()
        assert row.created_at == datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
        assert row.created_at.utcoffset() == timedelta(0)
        note_created = session.exec(select(NoteRow.created_at)).first()
        assert note_created is not None and note_created.tzinfo is not None


def test_unicode_text_round_trips_exactly(engine: sa.Engine) -> None:
    text = "Drucker „Büro“ streikt — 打印机 ✓ 🙂 café\ttab\r\nCRLF \u200b zero-width"
    ticket = make_ticket(title="Outlook fehlt: Überprüfung 😖", description=text,
                         company="Zürich AG", notes=[make_note(text=text, author="Jürgen Ø")])
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
    with session_scope(engine) as session:
        stored = get_ticket(session, source=ticket.source, external_id=ticket.external_id)
        assert stored == ticket
        assert stored is not None and stored.notes[0].text == text
        assert set(note_texts(session, ticket.external_id).values()) == {text}


def test_nul_bytes_in_free_text_columns_do_not_break_the_store(engine: sa.Engine) -> None:
    # PostgreSQL text columns refuse NUL; the record strips it from titles and notes, the store
    # from the other denormalised columns.
    ticket = make_ticket(title="bad\x00title", company="Acme\x00", board="Desk\x00",
                         notes=[Note(external_id="1", created_at=datetime.now(UTC),
                                     text="x\x00y", author="a\x00b")])
    with session_scope(engine) as session:
        assert upsert_ticket(session, ticket=ticket) == "created"
    with session_scope(engine) as session:
        stored = get_ticket(session, source=ticket.source, external_id=ticket.external_id)
        assert stored is not None and stored.company == "Acme\x00"
        assert stored.notes[0].text == "xy"


def test_deal_upsert_keeps_its_own_notes(engine: sa.Engine) -> None:
    deal = make_deal()
    ticket = make_ticket(external_id=deal.external_id)
    with session_scope(engine) as session:
        assert upsert_deal(session, deal=deal) == "created"
        assert upsert_ticket(session, ticket=ticket) == "created"
        assert upsert_deal(session, deal=deal) == "unchanged"
    updated = deal.model_copy(update={"stage": "Closed won", "notes": [
        make_note(external_id="call-2", kind=NoteKind.DISCUSSION, text="Signed.")]})
    with session_scope(engine) as session:
        assert upsert_deal(session, deal=updated) == "updated"
    with session_scope(engine) as session:
        assert get_deal(session, source=deal.source, external_id=deal.external_id) == updated
        counts = count_rows(session)
        assert counts["deals"] == 1
        assert counts["notes"] == len(ticket.notes) + 1


def test_mark_deleted_hides_tickets_and_retracts_their_resolutions(engine: sa.Engine) -> None:
    keep, gone = make_ticket(), make_ticket()
    with session_scope(engine) as session:
        for ticket in (keep, gone):
            upsert_ticket(session, ticket=ticket)
        for item in pending_extraction(session, extractor_version="test-1"):
            save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                            resolution=make_resolution(ticket=item.ticket))
    with session_scope(engine) as session:
        marked = mark_deleted(session, source="sandbox", kind="ticket",
                              external_ids=[gone.external_id, "never-seen"])
        assert marked == 1
    with session_scope(engine) as session:
        assert get_resolution(session, source="sandbox", external_id=gone.external_id) is None
        assert get_resolution(session, source="sandbox", external_id=keep.external_id) is not None
        assert count_rows(session)["tickets"] == 1
        assert count_rows(session)["resolutions"] == 1
        assert pending_extraction(session, extractor_version="test-1") == []
        assert mark_deleted(session, source="sandbox", kind="ticket",
                            external_ids=[gone.external_id]) == 0


def test_a_deleted_ticket_that_reappears_is_extracted_again(engine: sa.Engine) -> None:
    ticket = make_ticket()
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
        [item] = pending_extraction(session, extractor_version="test-1")
        save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                        resolution=make_resolution(ticket=ticket))
        mark_deleted(session, source=ticket.source, kind="ticket",
                     external_ids=[ticket.external_id])
    with session_scope(engine) as session:
        assert upsert_ticket(session, ticket=ticket) == "updated"
        assert [p.ticket for p in pending_extraction(session, extractor_version="test-1")] == [
            ticket]


def test_ticket_flagged_deleted_by_the_source_retracts_its_resolution(engine: sa.Engine) -> None:
    ticket = make_ticket()
    with session_scope(engine) as session:
        upsert_ticket(session, ticket=ticket)
        [item] = pending_extraction(session, extractor_version="test-1")
        save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                        resolution=make_resolution(ticket=ticket))
    with session_scope(engine) as session:
        assert upsert_ticket(session, ticket=ticket.model_copy(update={"deleted": True})) == (
            "updated")
    with session_scope(engine) as session:
        assert get_resolution(session, source=ticket.source, external_id=ticket.external_id) is None
        assert count_rows(session)["tickets"] == 0


def test_mark_deleted_handles_more_ids_than_one_sql_list(engine: sa.Engine) -> None:
    tickets = [make_ticket(notes=[]) for _ in range(3)]
    with session_scope(engine) as session:
        for ticket in tickets:
            upsert_ticket(session, ticket=ticket)
    ids = [f"missing-{n}" for n in range(1200)] + [t.external_id for t in tickets]
    with session_scope(engine) as session:
        assert mark_deleted(session, source="sandbox", kind="ticket", external_ids=ids) == 3
