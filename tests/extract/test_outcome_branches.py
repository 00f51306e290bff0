"""The note cues of `extract.outcome` searched branch by branch behind their token gates decide
exactly what the whole cues decide."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import outcome
from extract.labelled import load_labelled
from extract.roles import normalise
from extract.sources import ticket_sources


@cache
def _real_notes() -> list[str]:
    """Normalised texts of the sandbox corpus and the labelled tickets."""
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return [normalise(source.clean.text) for ticket in tickets
            for source in ticket_sources(ticket)]


def _whole(text: str, says_done: bool) -> outcome.Outcome | None:
    """`note_outcome` with each cue searched whole, ungated."""
    unresolved, workaround, escalated = outcome._NOTE_CUES
    if unresolved.search(text):
        return outcome.Outcome.UNRESOLVED
    if workaround.search(text):
        return outcome.Outcome.WORKAROUND
    if not says_done and escalated.search(text):
        return outcome.Outcome.ESCALATED
    return outcome.Outcome.RESOLVED if says_done else None


def test_the_branches_join_back_into_each_cue() -> None:
    for cue, branches in zip(outcome._NOTE_CUES, outcome._NOTE_BRANCHES, strict=True):
        assert "|".join(branches.patterns) == cue.pattern
        assert cue.exact is not cue.folded  # the branches compile case-sensitively, as `exact`


def test_the_branch_gates_never_close_on_a_match_in_real_text() -> None:
    for text in _real_notes():
        if not (text.isascii() and text.islower()):
            continue
        mask = outcome._NOTE_GATES.mask(text)
        for cue, shift in zip(outcome._NOTE_BRANCHES, outcome._BRANCH_SHIFTS, strict=True):
            for index, branch in enumerate(cue.branches):
                if branch.search(text) is not None:
                    assert mask >> (shift + index) & 1, (branch.pattern, text)


def test_note_outcome_equals_the_whole_cues_on_real_text() -> None:
    for text in _real_notes():
        for says_done in (False, True):
            assert outcome.note_outcome(text, says_done=says_done) == _whole(text, says_done)


_NOTEY = st.lists(st.sampled_from(
    ["could", "not", "couldn't", "resolve", "fix", "unable", "to", "reproduce", "no",
     "response", "reply", "from", "user", "did", "never", "closing", "-", "due", "duplicate",
     "of", "ticket", "workaround", "work", "around", "temp", "in", "the", "meantime", "until",
     "a", "vendor", "escalated", "opened", "case", "with", "tier", "2", "rma", "handed", "off",
     "heard", "back", "without", "unresponsive", "cancelled", "by", "x"]),
    max_size=10).map(" ".join)


@settings(max_examples=500, deadline=None)
@given(_NOTEY, st.booleans())
def test_note_outcome_equals_the_whole_cues(text: str, says_done: bool) -> None:
    assert outcome.note_outcome(text, says_done=says_done) == _whole(text, says_done)
