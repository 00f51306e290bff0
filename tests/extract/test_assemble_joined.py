"""Assembly's shortcuts, each checked against the path it replaces: the scope and condition
cues found in texts joined by `_JOIN` are those found in each text alone, and the collector's
word sets are the [a-z0-9] runs of the normalised text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.assemble import (
    _CONDITION,
    _CONDITION_ANY_CASE,
    _CONDITION_GATE,
    _CONDITION_GATE_RE,
    _SCOPE,
    _SCOPE_ANY_CASE,
    _SCOPE_GATE,
    _SCOPE_GATE_RE,
    _lowered_matches,
    _matches_by_text,
    _word_set,
)
from extract.roles import normalise

_CUES = ((_SCOPE, _SCOPE_ANY_CASE, _SCOPE_GATE_RE, _SCOPE_GATE),
         (_CONDITION, _CONDITION_ANY_CASE, _CONDITION_GATE_RE, _CONDITION_GATE))

# Words of the cues, and characters at the edges of what they match: word characters and
# separators beside a text's ends, the joining character itself, and characters that lower to
# two ("İ") or that IGNORECASE alone folds to ASCII (the Kelvin sign, the long s).
_WORDY = st.lists(st.sampled_from(
    ["only", "when", "while", "connected", "over", "the", "vpn", "wifi", "off-site", "from",
     "home", "except", "unless", "2016", "typo", "outage", "power", "resolved", "itself",
     "custom", "their", "own", "10.0.0.5", "192.168.1.20", "\\\\srv", "\\\\", "was",
     "unplugged", "user", "error", "no", "action", "needed", "static", "ip", "x", ".", ",",
     " ", "\n", "\x00", "_", "ONLY", "When", "\u0130", "\u212a", "\u017f", "-", "3"]),
    max_size=10).map("".join)


def _each(pattern, any_case, gate, texts: list[str]) -> list[list[tuple[int, int, str | None]]]:
    return [[(match.start(), match.end(), match.lastgroup)
             for match in _lowered_matches(pattern, any_case, gate, text)] for text in texts]


@settings(max_examples=500, deadline=None)
@given(st.lists(_WORDY, max_size=5))
def test_matches_in_joined_texts_are_those_of_each_text(texts: list[str]) -> None:
    for pattern, any_case, gate, literals in _CUES:
        assert _matches_by_text(pattern, any_case, gate, literals, texts) == _each(
            pattern, any_case, gate, texts)


def test_matches_in_joined_texts_on_worked_examples() -> None:
    texts = ["Only when on VPN", "fails only", "when connected over the vpn.", "",
             "typo in \\\\srv01 mapping", "static ip 10.0.0.5 except"]
    for pattern, any_case, gate, literals in _CUES:
        found = _matches_by_text(pattern, any_case, gate, literals, texts)
        assert found == _each(pattern, any_case, gate, texts)
        assert any(found)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    [*"abzAZ09 _-.\n\t\r", "\u0130", "\u212a", "\u017f", "\u00e9", "\u2019", "\x00"]),
    max_size=30))
def test_word_set_is_the_words_of_the_normalised_text(text: str) -> None:
    assert _word_set(text) == frozenset(
        word.encode() for word in re.findall(r"[a-z0-9]+", normalise(text)))
