"""`TokenGates` with `boundaries`: a piece after (before) a "\\b" of its pattern opens a gate only
where its token has no word character before (after) it. Checked against the patterns searched
without gates, and against the gates as they were without boundaries (never wider).
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from extract import roles
from extract.patterns import TokenGates, _required
from tests.extract.test_roles_speed2_gates import _PATTERNS, _compiled, _texts
from tests.extract.test_roles_speed2_gates import _gates as _unbounded


@cache
def _gates() -> TokenGates:
    return TokenGates(_PATTERNS, exact=True, boundaries=True)


def _cuts(text: str) -> list[int]:
    """Where `classify` may cut `text` (after a label or a lead-in): after ",", ":", "=", "-"."""
    return [index + 1 for index, char in enumerate(text) if char in ",:=-"]


def test_roles_reads_its_gates_with_boundaries() -> None:
    assert roles._GATES.masks.opens == _gates().masks.opens


def test_a_boundary_keeps_a_piece_to_a_word_edge() -> None:
    gates = TokenGates([r"\bis\s+(?:working|fine)\b", r"\bre-?mapped\b", r"x\bno\b"],
                       boundaries=True)
    assert gates.mask("it is fine") == 0b001
    assert gates.mask("this working") == 0  # "is" ends "this", after a word character
    assert gates.mask("(is working") == 0b001
    assert gates.mask("_is working") == 0  # "_" is a word character
    assert gates.mask("x-is fine.") == 0b001
    assert gates.mask("is finer") == 0  # "fine" ends no word there
    assert gates.mask("remapped") == 0b010
    assert gates.mask("unremapped") == 0
    assert gates.mask("remapped2") == 0
    assert gates.mask("(remapped)") == 0b010
    # A boundary between two word characters cannot hold: nothing is read of it.
    assert gates.mask("xno") == 0b100
    # Without `boundaries`, as before.
    assert TokenGates([r"\bis\s+(?:working|fine)\b"]).mask("this working") == 0b1


def test_the_gates_never_close_on_a_match_in_real_text() -> None:
    gates = _gates()
    unbounded = _unbounded()
    compiled = _compiled()
    for text in _texts():
        mask = gates.mask_words(text.split())
        for index, pattern in enumerate(compiled):
            if mask >> index & 1:
                continue  # open: nothing promised
            assert pattern.search(text) is None, (_PATTERNS[index], text)
            if not gates.exact >> index & 1:  # an exact gate decides the whole text alone
                for cut in _cuts(text):
                    assert pattern.search(text[cut:]) is None, (_PATTERNS[index], text, cut)
        # Never wider than without boundaries: each gate closed there stays closed.
        assert mask & ~unbounded.mask_words(text.split()) == 0, text


def test_the_boundaries_close_more_gates_on_real_text() -> None:
    gates = _gates()
    unbounded = _unbounded()
    closed = sum(bin(unbounded.mask_words(words) & ~gates.mask_words(words)).count("1")
                 for words in map(str.split, _texts()))
    assert closed > 1000


def test_classify_reads_real_text_as_without_boundaries(
        monkeypatch: pytest.MonkeyPatch) -> None:
    segments = [(text, context) for text in _texts() for context in roles.Context]
    expected = [roles.classify(text, context=context) for text, context in segments]
    monkeypatch.setattr(roles, "_GATES", _unbounded())
    assert [roles.classify(text, context=context) for text, context in segments] == expected


# A literal of some gated pattern (boundaries read as nothing), with any whitespace at its
# spaces and any characters at its ends: word characters or not, next to a boundary or not.
@cache
def _literals() -> list[str]:
    found = set()
    for pattern in _PATTERNS:
        for clause in _required(pattern, single_spaced=True):
            found.update(literal for literal in clause if literal.strip())
    return sorted(found)


_EDGES = st.sampled_from(["", "x", "is", "-", "(", "'", "_", "no", "1", ".", " ", "re", ":"])
_SPACES = st.sampled_from([" ", "  ", "\t", "\n", " \n "])


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=0), _EDGES, _EDGES, _SPACES, st.sampled_from(["", "the ", "it: "]),
       st.integers(min_value=0, max_value=6))
def test_the_gates_never_close_on_a_match(index: int, before: str, after: str, space: str,
                                          lead: str, cut: int) -> None:
    """Nor on a match in a suffix of the text after a character that is no word character,
    exact gates aside: those decide the whole text alone."""
    literals = _literals()
    text = lead + before + literals[index % len(literals)].replace(" ", space) + after
    assume(cut == 0 or (cut <= len(text) and not re.match(r"\w", text[cut - 1])))
    gates = _gates()
    mask = gates.mask(text)
    for bit, pattern in enumerate(_compiled()):
        if pattern.search(text) is not None or (
                not gates.exact >> bit & 1 and pattern.search(text[cut:]) is not None):
            assert mask >> bit & 1, (_PATTERNS[bit], text, cut)
