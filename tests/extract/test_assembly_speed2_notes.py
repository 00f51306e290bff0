"""Assembly reads the notes' outcomes newest first and stops as soon as the older notes cannot
change `decide_outcome`'s decision (`_note_outcomes`, `may_read_as_workaround`): the decision is
the one every note's outcome gives, the slow path it replaces."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import Extractor
from extract.analysis import Analysis, Segment, analyse
from extract.assemble import _note_outcomes
from extract.clean import CleanText
from extract.labelled import load_labelled
from extract.outcome import _WORKAROUND, decide_outcome, may_read_as_workaround, note_outcome
from extract.roles import Context, Role, normalise
from extract.segment import with_text
from extract.sources import Source, ticket_sources
from records import Outcome, Ticket


def _every_outcome(analysis: Analysis) -> list:
    """The slow path: every note's outcome, oldest first."""
    done = {id(s.source) for s in analysis.segments
            if s.roles & {Role.VERIFICATION, Role.CLOSURE}}
    return [note_outcome(normalise(s.clean.text), says_done=id(s) in done)
            for s in analysis.sources if s.field == "note"]


def _same_decision(analysis: Analysis, statuses: tuple[str | None, ...]) -> None:
    every = _every_outcome(analysis)
    read = _note_outcomes(analysis)
    for closed in (True, False):
        for status in statuses:
            for has_steps in (True, False):
                assert decide_outcome(status, closed=closed, note_outcomes=read,
                                      has_steps=has_steps) == decide_outcome(
                    status, closed=closed, note_outcomes=every, has_steps=has_steps)


@cache
def _tickets() -> tuple[Ticket, ...]:
    return (*load_corpus(), *(item.ticket for item in load_labelled().tickets))


def test_the_notes_read_decide_as_every_note_does_on_the_real_corpus(
        extractor: Extractor) -> None:
    for ticket in _tickets():
        sources = ticket_sources(ticket)
        docs = [extractor.nlp(with_text(extractor.nlp.make_doc(s.clean.text), s.clean.text))
                for s in sources]
        _same_decision(analyse(sources, docs), (ticket.status, None))


def test_a_real_note_reading_as_a_workaround_is_never_ruled_out() -> None:
    texts = [s.clean.text for ticket in _tickets() for s in ticket_sources(ticket)]
    workarounds = [text for text in texts
                   if _WORKAROUND.search(normalise(text)) is not None]
    assert workarounds  # the corpus has some: the check below is not empty
    for text in workarounds:
        assert may_read_as_workaround(["first note", text])


# One text per branch of `_WORKAROUND`: each must count, so dropping a word from the list that
# rules notes out fails here.
_EACH_BRANCH = ["Used a WORK-AROUND for now", "workarounds applied", "temporary fix in place",
                "temp fix", "in the meantime use webmail", "band-aid", "bandaid only",
                "a stop-gap", "stopgap", "interim solution", "until the new laptop arrives",
                "until a fix ships"]


def test_every_workaround_branch_counts() -> None:
    for text in _EACH_BRANCH:
        assert _WORKAROUND.search(normalise(text)) is not None, text
        assert may_read_as_workaround([text]), text
    assert not may_read_as_workaround(["rebooted the router", "working now"])
    assert not may_read_as_workaround([])


_WORDS = st.sampled_from(
    ["work", "around", "work-around", "Workaround", "temporary", "temp", "fix", "solution",
     "in", "the", "meantime", "band-aid", "band", "aid", "stop-gap", "stopgap", "stop", "gap",
     "interim", "until", "a", "new", "laptop", "arrives", "vendor", "patch", "could", "not",
     "resolve", "escalated", "to", "tier", "2", "no", "response", "from", "user", "fixed",
     "\u0130", "\u212a", "\u017f", "\u017ftop-gap", "UNTIL", "x"])
_TEXT = st.lists(_WORDS, max_size=10).flatmap(
    lambda words: st.lists(st.sampled_from([" ", "  ", "\n", "\t", "-"]), min_size=len(words),
                           max_size=len(words)).map(
        lambda gaps: "".join(w + g for w, g in zip(words, gaps, strict=True))))


@settings(max_examples=800, deadline=None)
@given(_TEXT)
def test_a_note_ruled_out_never_reads_as_a_workaround(text: str) -> None:
    if not may_read_as_workaround([text]):
        assert _WORKAROUND.search(normalise(text)) is None
        for says_done in (False, True):
            assert note_outcome(normalise(text), says_done=says_done) is not Outcome.WORKAROUND


def _fake_analysis(notes: list[tuple[str, bool]]) -> Analysis:
    """A ticket of notes only, each (text, whether it verifies or closes)."""
    sources = [Source("note", f"n{index}", Context.TECHNICIAN, text, CleanText.identity(text))
               for index, (text, _) in enumerate(notes)]
    segments = [Segment(source, 0, len(source.clean.text), None,  # type: ignore[arg-type]
                        frozenset({Role.CLOSURE}))
                for source, (_, done) in zip(sources, notes, strict=True) if done]
    return Analysis(sources, segments, [])


_NOTE = st.one_of(st.sampled_from(
    ["rebooted", "works now", "used a workaround for now", "escalated to tier 2",
     "could not resolve", "temp fix until the vendor patch", "no response from user",
     "in the meantime use webmail", "attempted a repair", "\u017ftop-gap applied", ""]),
    _TEXT)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(_NOTE, st.booleans()), max_size=6),
       st.sampled_from([None, "Closed", "Escalated to vendor", "Cancelled", "In Progress"]))
def test_the_notes_read_decide_as_every_note_does(notes: list[tuple[str, bool]],
                                                   status: str | None) -> None:
    _same_decision(_fake_analysis(notes), (status,))
