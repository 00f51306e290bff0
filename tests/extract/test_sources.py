"""Which texts of a ticket are read: a description-kind note repeating what came before is
skipped, whatever came before it (the description, or any earlier note)."""

from __future__ import annotations

from collections.abc import Callable

from extract.sources import ticket_sources
from records import AuthorRole, Note, NoteKind, Ticket

TicketMaker = Callable[..., Ticket]
NoteMaker = Callable[..., Note]


def _described(note: NoteMaker, hours: float, text: str, external_id: str) -> Note:
    return note(hours, text, kind=NoteKind.DESCRIPTION, author_role=AuthorRole.CONTACT,
                external_id=external_id)


def test_description_notes_repeating_the_description_or_an_earlier_note_are_skipped(
        ticket: TicketMaker, note: NoteMaker) -> None:
    source = ticket(title="printer", description="Printer jammed again.", notes=[
        _described(note, 0, "printer  JAMMED again.", "d1"),  # the description, normalised
        note(1, "Cleared the jam in tray 2.", external_id="n1"),
        note(2, "User says it jammed again after lunch.", external_id="n2"),
        _described(note, 3, "Cleared the jam in   tray 2.", "d2"),  # an earlier note
        _described(note, 4, "User says it jammed again after lunch.", "d3"),  # the latest one
        _described(note, 5, "Also the scanner is offline.", "d4"),  # new: kept
        _described(note, 6, "also the scanner is offline.", "d5"),  # repeats d4
    ])

    kept = [(s.field, s.note_id) for s in ticket_sources(source)]

    assert kept == [("title", None), ("description", None), ("note", "n1"), ("note", "n2"),
                    ("note", "d4")]


def test_ordinary_notes_are_kept_even_when_they_repeat(ticket: TicketMaker,
                                                       note: NoteMaker) -> None:
    source = ticket(description="Printer jammed.", notes=[
        note(1, "Printer jammed.", external_id="n1"),
        note(2, "Printer jammed.", external_id="n2"),
    ])

    assert [s.note_id for s in ticket_sources(source)] == [None, None, "n1", "n2"]


def test_suggestions_fixedit_posted_are_not_read_even_wrapped_in_html(
        ticket: TicketMaker, note: NoteMaker) -> None:
    # What `fixedit suggest` posts, as a PSA that stores notes as HTML gives it back
    posted = ("<div><p>fixedit: similar tickets were fixed before (automatic suggestion, "
              "internal only).</p><p>1. Outlook keeps asking for password [resolved]<br>"
              "&nbsp;&nbsp;&nbsp;Step 1: Cleared cached credentials in Credential Manager"
              "</p></div>")
    source = ticket(description="Outlook prompts for the password all day.", notes=[
        note(1, posted, external_id="s1", author="fixedit"),
        note(2, "Rebuilt the Outlook profile, user confirmed no more prompts.", external_id="n1"),
        note(3, "Mentioned fixedit: similar tickets were fixed before, per the note.",
             external_id="n2"),  # a person quoting it mid-sentence is still read
    ])

    assert [s.note_id for s in ticket_sources(source)] == [None, None, "n1", "n2"]
