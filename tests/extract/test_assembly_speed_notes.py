"""The note outcomes read from a note's words (`note_outcome_words`) are those read from its
normalised text (`note_outcome(normalise(text))`), the path they replace."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract.assemble import _normalised_words
from extract.labelled import load_labelled
from extract.outcome import note_outcome, note_outcome_words
from extract.roles import normalise
from extract.sources import ticket_sources


@cache
def _real_texts() -> list[str]:
    """Cleaned texts of the sandbox corpus and the labelled tickets."""
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return [source.clean.text for ticket in tickets for source in ticket_sources(ticket)]


def _same(text: str) -> None:
    words = _normalised_words(text, ascii=text.isascii())
    assert " ".join(words) == normalise(text)
    for says_done in (False, True):
        assert note_outcome_words(words, says_done=says_done, ascii=text.isascii()) \
            == note_outcome(normalise(text), says_done=says_done)


def test_note_words_read_as_the_normalised_note_on_real_text() -> None:
    for text in _real_texts():
        _same(text)


# Cue words, their capitalised and curly-quoted forms, and characters that change under
# `normalise` or lowering ("İ", the Kelvin sign, the long s), joined by assorted whitespace.
_NOTEY = st.lists(st.sampled_from(
    ["could", "not", "couldn't", "couldn\u2019t", "Couldn`t", "resolve", "fix", "unable", "to",
     "reproduce", "no", "response", "from", "user", "did", "never", "closing", "-", "duplicate",
     "of", "ticket", "workaround", "Work", "around", "temp", "in", "the", "meantime", "until",
     "vendor", "escalated", "ESCALATED", "opened", "case", "with", "tier", "2", "rma", "handed",
     "heard", "back", "unresponsive", "cancelled", "by", "\u0130", "\u212a", "\u017f", "x"]),
    max_size=12)


@settings(max_examples=500, deadline=None)
@given(_NOTEY, st.lists(st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", " \u2003"]),
                        min_size=12, max_size=12))
def test_note_words_read_as_the_normalised_note(words: list[str], gaps: list[str]) -> None:
    _same("".join(word + gap for word, gap in zip(words, gaps, strict=False)))
