"""The keyword vote looks up a keyword's longer forms only after their second word: the same
votes, in the same order, as trying every length, on the sandbox corpus and on texts made of
keyword words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract.categories import _hits, _keywords, _words, taxonomy


def _every_length(text: str) -> dict[str, int]:
    """`_hits` as it was: every longer keyword length tried at every keyword start."""
    owners, _ = _keywords()
    words = _words(text)
    hits: dict[str, int] = {}
    for index in range(len(words)):
        for size in range(1, 6):
            if index + size <= len(words):
                for category_id, weight in owners.get(b" ".join(words[index:index + size]),
                                                      ()):
                    hits[category_id] = hits.get(category_id, 0) + weight
    return hits


def _keyword_words() -> list[str]:
    return sorted({word for category in taxonomy() for keyword in category.keywords
                   for word in keyword.lower().split()})


def test_hits_on_the_corpus() -> None:
    for ticket in load_corpus():
        for text in (ticket.title, ticket.description, *(note.text for note in ticket.notes)):
            assert _hits(text) == _every_length(text), text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*_keyword_words(), "the", "x", "-"]), max_size=12))
def test_hits_on_keyword_words(words: list[str]) -> None:
    text = " ".join(words)
    assert _hits(text) == _every_length(text)
    assert list(_hits(text).items()) == list(_every_length(text).items())
