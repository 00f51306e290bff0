"""Where a rule's start words stand (extract.redact._start_places) is now found by one regex for
the words sharing a first character; it gives what one `str.find` a word gave (kept here), on
the real texts and on text built from the start words themselves, overlapping and run
together ("sasas", "passpw", "wi-fiwifi")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import redact

STARTS = sorted({rule.starts for rule in redact._RULES if rule.starts})
WORDS = sorted({word for starts in STARTS for word in starts})


def reference(starts: tuple[str, ...], folded: str, limit: int) -> list[int] | None:
    """`_start_places` as it read before: each word found one place at a time."""
    places: list[int] = []
    for word in starts:
        place = folded.find(word)
        while place >= 0:
            places.append(place)
            if len(places) > limit:
                return None
            place = folded.find(word, place + 1)
    places.sort()
    return places


def _real_texts() -> list[str]:
    found = []
    for ticket in load_corpus():
        texts = [ticket.title, ticket.description or "", *(n.text for n in ticket.notes)]
        found += [*texts, "\n".join(texts)]
    return [redact._fold(text) for text in found]


def test_some_start_words_share_a_regex() -> None:
    finders, alone = redact._place_finders(("pass", "pw", "pswd", "p/w"))
    assert len(finders) == 1 and not alone
    assert any(redact._place_finders(starts)[1] for starts in STARTS)


@pytest.mark.parametrize("limit", [redact._MAX_STARTS, 10_000])
def test_real_texts_give_the_same_places(limit: int) -> None:
    texts = _real_texts()
    assert redact._start_places(("pass", "pw", "pswd", "p/w"), "\n".join(texts), 10_000)
    for starts in STARTS:
        for text in texts:
            assert redact._start_places(starts, text, limit) == reference(starts, text, limit)


pieces = st.sampled_from([*WORDS, *(word[1:] for word in WORDS), *(word[:-1] for word in WORDS),
                          "sasas", "passpw", "pswdp/w", "wi-fiwifi", " ", "\n", "x", "\u0130",
                          "password", "pwd", "accesskey", "?&", "||"])


@settings(max_examples=500, deadline=None)
@given(st.lists(pieces, max_size=30).map("".join), st.sampled_from(STARTS),
       st.integers(min_value=0, max_value=40))
def test_built_texts_give_the_same_places(text: str, starts: tuple[str, ...], limit: int) -> None:
    folded = redact._fold(text)
    assert redact._start_places(starts, folded, limit) == reference(starts, folded, limit)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["pas", "pass", "ab", "aba", "abab", "ac", "ca", "sas", "sa", "a"]),
                min_size=1, max_size=4, unique=True).map(tuple),
       st.lists(st.sampled_from(["pas", "pass", "ab", "aba", "ac", "ca", "c", "a", "s", " "]),
                max_size=20).map("".join))
def test_any_start_words_give_the_same_places(starts: tuple[str, ...], text: str) -> None:
    """Words that start one another, or hold their first letter again ("aba", "sas"), share
    no regex with another."""
    assert redact._start_places(starts, text, 1000) == reference(starts, text, 1000)
