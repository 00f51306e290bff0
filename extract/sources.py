"""The texts of a ticket in reading order, each cleaned and tagged with who wrote it.

The extractor reads the *whole* ticket: title, description, then every note and time entry in
chronological order. A description that a PSA also stores as the first note is read once, and
the suggestions fixedit itself posts to a ticket (`fixedit suggest`) are not read at all: they
quote other tickets' steps, which would otherwise become this ticket's own on the next sync.
"""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Literal, NamedTuple

from extract.clean import CleanText, clean_text
from extract.roles import Context, normalise
from records import AuthorRole, Evidence, NoteKind, Ticket

__all__ = ["SUGGESTION_HEADER", "Source", "is_suggestion", "ticket_sources"]

SUGGESTION_HEADER = "fixedit: similar tickets were fixed before"
"""How every note `fixedit suggest` posts begins (its first line goes on with the kind of note).
Written by `fixedit.suggest.format_note`; read here to leave those notes out."""


class Source(NamedTuple):
    """One text of a ticket: where it sits, who wrote it, the original and the cleaned text.

    A named tuple, as immutable as a frozen dataclass and built in a third of the time (a
    frozen dataclass sets each of its eight fields through ``object.__setattr__``: 0.87 against
    0.25 us); a ticket has about seven."""

    field: Literal["title", "description", "note"]
    note_id: str | None
    context: Context
    original: str
    clean: CleanText
    created_at: datetime | None = None
    author: str | None = None
    kind: NoteKind | None = None

    def evidence(self, start: int, end: int) -> Evidence:
        """Evidence for the cleaned span [start, end), with offsets into the original text."""
        orig_start, orig_end = self.clean.original_span(start, end)
        return Evidence(field=self.field, note_id=self.note_id, start=orig_start, end=orig_end,
                        text=self.clean.text[start:end])


# The enum members read per note, as module names: an enum member looked up on its class
# costs about 65 ns in Python 3.11 (a descriptor call), a global about 7.
_SYSTEM, _CONTACT = AuthorRole.SYSTEM, AuthorRole.CONTACT
_DESCRIPTION_NOTE, _CUSTOMER_REPLY = NoteKind.DESCRIPTION, NoteKind.CUSTOMER_REPLY
_IN_SYSTEM, _IN_DESCRIPTION, _IN_TITLE = Context.SYSTEM, Context.DESCRIPTION, Context.TITLE
_IN_CUSTOMER, _IN_TECHNICIAN = Context.CUSTOMER, Context.TECHNICIAN


def _context(kind: NoteKind, role: AuthorRole) -> Context:
    if role is _SYSTEM:
        return _IN_SYSTEM
    if kind is _DESCRIPTION_NOTE:
        return _IN_DESCRIPTION
    if role is _CONTACT or kind is _CUSTOMER_REPLY:
        return _IN_CUSTOMER
    return _IN_TECHNICIAN


_CREATED_AT = attrgetter("created_at")
# A `Source` built from all its fields at once (defaults too: they are the constructor's): the
# named tuple's own constructor is a Python function around this same call (about 0.17
# against 0.08 us), and a ticket has some seven.
_new_source = tuple.__new__


def is_suggestion(clean_text_: str) -> bool:
    """True for the cleaned text of a note fixedit posted: a PSA may wrap it in HTML or indent
    it, which cleaning and the left strip take off, but keeps its first line."""
    return clean_text_.lstrip().startswith(SUGGESTION_HEADER)


def ticket_sources(ticket: Ticket) -> list[Source]:
    """Title, description and notes (oldest first) of `ticket`, cleaned. Never empty."""
    created_at = ticket.created_at
    sources = [_new_source(Source, ("title", None, _IN_TITLE, ticket.title,
                                    clean_text(ticket.title, email=False), created_at, None, None))]
    # "not text or text.isspace()" is "not text.strip()" without copying the text.
    description = ticket.description
    if description and not description.isspace():
        sources.append(_new_source(Source, ("description", None, _IN_DESCRIPTION, description,
                                            clean_text(description), created_at, None, None)))
    # Normalised texts of sources[1:counted] (description and notes kept so far): only a
    # description-kind note is compared with them, so they are normalised when one comes.
    seen: set[str] = set()
    counted = 1
    # Oldest first; the sort is stable, so notes written at the same time keep their order.
    for note in sorted(ticket.notes, key=_CREATED_AT):
        text = note.text
        if not text or text.isspace():
            continue
        clean = clean_text(text)
        # `is_suggestion`, without its left strip: a cleaned text never starts with whitespace.
        if clean.text.startswith(SUGGESTION_HEADER):
            continue
        kind = note.kind
        if kind is _DESCRIPTION_NOTE:
            # A note that repeats the description (or an earlier note) adds nothing.
            seen.update(normalise(source.clean.text) for source in sources[counted:])
            counted = len(sources)
            if normalise(clean.text) in seen:
                continue
        sources.append(_new_source(Source, (
            "note", note.external_id, _context(kind, note.author_role), text, clean,
            note.created_at, note.author, kind)))
    return sources
