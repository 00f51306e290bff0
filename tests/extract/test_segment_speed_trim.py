"""`_ends_in_connective`, which tells most ASCII words by their last two letters, answers as the
walk back to the word's start it shortcuts (kept here as `_reference`), on every segment end of
the real corpus and on generated texts dense in connectives, their tails and case folds."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import Extractor
from extract.labelled import load_labelled
from extract.segment import _BOUNDS_KEY, _CONNECTIVES, _ends_in_connective
from extract.sources import ticket_sources

SETTINGS = settings(max_examples=500, deadline=None, derandomize=True)


def _reference(text: str, start: int, stop: int) -> bool:
    word = stop
    while word > start and (text[word - 1].isalnum() or text[word - 1] == "_"):
        word -= 1
    found = text[word:stop]
    return not found.isascii() or found.lower() in _CONNECTIVES


@cache
def _real_texts() -> tuple[str, ...]:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return tuple(source.clean.text for ticket in tickets for source in ticket_sources(ticket))


def test_every_segment_end_of_real_text(extractor: Extractor) -> None:
    said = set()
    for text in _real_texts():
        doc = extractor.nlp(text)
        for start, end in doc.user_data.get(_BOUNDS_KEY, ()):
            for stop in range(start + 1, end + 1):
                said.add(_ends_in_connective(text, start, stop))
                assert _ends_in_connective(text, start, stop) == _reference(text, start, stop)
    assert said == {True, False}


_PARTS = ["and", "AND", "then", "tHen", "also", "but", "so", "So", "nd", "en", "ut", "d", "n",
          "hand", "then_", "_so", "x", "7", "ſo", "é", "Kand", "also2", " ", ",", "-", "\n"]


@SETTINGS
@given(st.lists(st.sampled_from(_PARTS), min_size=1, max_size=10).map("".join),
       st.integers(0, 60), st.integers(1, 60))
def test_generated_words(text: str, start: int, size: int) -> None:
    start = min(start, len(text) - 1)
    stop = min(start + size, len(text))
    assert _ends_in_connective(text, start, stop) == _reference(text, start, stop)
