"""Outcome: how a ticket ended, from its status and what its notes say."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract import outcome
from extract.outcome import decide_outcome, is_closed_status, note_outcome
from records import Outcome


@pytest.mark.parametrize(("status", "closed"), [
    ("Closed", True), (">Resolved", True), ("Completed - No Response", True),
    ("Cancelled", True), ("In Progress", False), ("Waiting Customer", False), (None, False),
])
def test_closed_statuses(status: str | None, closed: bool) -> None:
    assert is_closed_status(status) is closed


@pytest.mark.parametrize(("text", "outcome"), [
    ("applied a workaround: usb transfer for now", Outcome.WORKAROUND),
    ("temp fix until the replacement laptop arrives", Outcome.WORKAROUND),
    ("escalated to tier 2", Outcome.ESCALATED),
    ("opened a case with Fortinet TAC, waiting", Outcome.ESCALATED),
    ("could not resolve, user will live with it", Outcome.UNRESOLVED),
    ("closing - no response from user", Outcome.UNRESOLVED),
    ("Closing this ticket since we haven't heard back.", Outcome.UNRESOLVED),
    ("updated the driver", None),
])
def test_what_a_note_says_about_the_ending(text: str, outcome: Outcome | None) -> None:
    assert note_outcome(text.lower(), says_done=False) is outcome


def test_a_verified_note_reads_as_resolved_even_if_it_mentions_escalation() -> None:
    assert note_outcome("vendor escalation fixed it, user confirms", says_done=True) \
        is Outcome.RESOLVED


def test_the_latest_note_that_says_anything_wins() -> None:
    notes = [Outcome.ESCALATED, None, Outcome.RESOLVED]

    assert decide_outcome("Closed", closed=True, note_outcomes=notes, has_steps=True) \
        is Outcome.RESOLVED
    assert decide_outcome("Waiting Vendor", closed=False,
                          note_outcomes=[Outcome.ESCALATED], has_steps=True) is Outcome.ESCALATED


def test_a_workaround_sticks_when_the_ticket_is_then_closed_as_working() -> None:
    notes = [Outcome.WORKAROUND, Outcome.RESOLVED]

    assert decide_outcome("Closed", closed=True, note_outcomes=notes, has_steps=True) \
        is Outcome.WORKAROUND


def test_an_unresolved_status_beats_the_notes() -> None:
    assert decide_outcome("Closed - No Response", closed=True,
                          note_outcomes=[Outcome.RESOLVED], has_steps=True) is Outcome.UNRESOLVED


def test_closed_with_steps_but_no_words_is_resolved_and_with_nothing_is_unknown() -> None:
    assert decide_outcome("Closed", closed=True, note_outcomes=[None], has_steps=True) \
        is Outcome.RESOLVED
    assert decide_outcome("Closed", closed=True, note_outcomes=[], has_steps=False) \
        is Outcome.UNKNOWN
    assert decide_outcome("New", closed=False, note_outcomes=[], has_steps=False) \
        is Outcome.UNKNOWN


def _reference(text: str, *, says_done: bool) -> Outcome | None:
    """note_outcome without the token gates: each cue searched on its own."""
    if outcome._UNRESOLVED.search(text):
        return Outcome.UNRESOLVED
    if outcome._WORKAROUND.search(text):
        return Outcome.WORKAROUND
    if outcome._ESCALATED.search(text) and not says_done:
        return Outcome.ESCALATED
    return Outcome.RESOLVED if says_done else None


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(
    ["could", "not", "resolve", "no", "response", "from", "user", "work", "around", "workaround",
     "temp", "fix", "escalated", "to", "vendor", "tier", "2", "opened", "a", "case", "with",
     "in", "the", "meantime", "fixed", "unresolved", "sent", "rma", "Closing", "heard", "back"]),
    min_size=1, max_size=10), st.sampled_from([" ", "  ", "\n", "\t", " \n "]), st.booleans())
def test_gated_note_outcome_equals_each_cue_searched_on_its_own(words: list[str], space: str,
                                                                says_done: bool) -> None:
    text = space.join(words)
    assert note_outcome(text, says_done=says_done) == _reference(text, says_done=says_done)
