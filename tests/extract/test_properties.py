"""Properties that must hold for any text: evidence points home, redaction is idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import Extractor, redact_text
from extract.clean import clean_text
from records import Note, Ticket

OPENED = datetime(2024, 1, 1, tzinfo=UTC)
PIECES = [*"abcXYZ019 .,;:!?-/\n\t<>&#\"'()", "<p>", "</p>", "<br>", "&amp;", "&nbsp;", "<b>",
          "</b>", "rebooted", " still ", "fixed", "0x80070005", "KB5034441", "pw: ",
          "Thanks,\n", "\n-- \n", "On Mon wrote:\n", "> ", "From: a\nSent: b\n",
          "<style>x</style>", "<blockquote>", "&#39;", "\u2019", "é", "…", "Outlook"]
TEXTS = st.one_of(st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
                  st.text(max_size=120))
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def stored_text(ticket: Ticket, field: str, note_id: str | None) -> str:
    if field == "title":
        return ticket.title
    if field == "description":
        return ticket.description
    return next(n.text for n in ticket.notes if n.external_id == note_id)


@SETTINGS
@given(TEXTS, TEXTS, st.lists(TEXTS, max_size=3))
def test_any_ticket_extracts_with_evidence_inside_its_text(
        extractor: Extractor, title: str, description: str, notes: list[str]) -> None:
    ticket = Ticket(source="s", external_id="1", title=title, description=description,
                    created_at=OPENED, updated_at=OPENED,
                    notes=[Note(external_id=str(i), created_at=OPENED, text=text)
                           for i, text in enumerate(notes)])

    resolution = extractor.extract(ticket)

    items = [resolution.problem, resolution.cause, resolution.verification, *resolution.steps,
             *resolution.symptoms, *resolution.failed_attempts, *resolution.products,
             *resolution.error_codes, *resolution.kb_refs]
    for item in filter(None, items):
        for evidence in item.evidence:
            original = stored_text(ticket, evidence.field, evidence.note_id)
            assert evidence.end <= len(original)
            if "<" not in original and "&" not in original:
                assert original[evidence.start:evidence.end] == evidence.text


@SETTINGS
@given(TEXTS)
def test_cleaned_spans_map_inside_the_original(text: str) -> None:
    clean = clean_text(text)

    for start in range(0, len(clean.text), 4):
        orig_start, orig_end = clean.original_span(start, min(len(clean.text), start + 6))
        assert 0 <= orig_start <= orig_end <= len(text)


@SETTINGS
@given(TEXTS)
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once, _ = redact_text(text)
    twice, counts = redact_text(once)

    assert twice == once
    assert not counts
