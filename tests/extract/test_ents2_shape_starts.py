"""Every shape is found from its possible starts alone (`_shape_matches`), as `finditer` of the
alternation finds it: the VENDOR, BUGCHECK and KB_URL shapes, and the KB_REF ones on text that
is not ASCII, used to fall back to a scan of the whole text.
"""

from __future__ import annotations

import re
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract.entities import _ALL_SHAPES, _compiled_shapes, _shape_matches, _shapes

SETTINGS = settings(max_examples=600, deadline=None, derandomize=True)

# Pieces of every shape, near misses (mid-word starts, long letter runs, Kelvin sign and long s,
# which case-fold to "k" and "s"), and separators.
_PIECES = [
    "AADSTS50126", "aadsts5012", "AADſTS50126", "ORA-12345", "ora-1234", "CAAFFFFF", "caa12",
    "xCAA12345", "ERR_CONNECTION_RESET", "ERR_", "xERR_A", "CRITICAL_PROCESS_DIED", "A_B_C",
    "HKEY_LOCAL_MACHINE_X", "aB_C_D", "AB1_2_3", "_", "__", "https://support.x.com/kb/123",
    "http://a", "xhttps://b", "KB5034441", "kb 1234567", "\u212ab123456", "K\u212a-kb-12",
    "abc-KB-12", "abcdefgh-kb#1", "ab-\u212ab-7", "0x1F", "550 5.7.1", "v6.2", "22H2", "é",
    "ß", "1", "A", "a", "-", ".", ":", "/", "#",
]
_SEPARATORS = ["", " ", "", "\n", ",", ".", "-", "_", "é"]
texts = st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_SEPARATORS)),
                 max_size=25).map(lambda parts: "".join(p + s for p, s in parts))


def _reference(shapes: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str | None]]:
    """The old form: a scan of the whole text."""
    return [(m.span(), m.lastgroup) for m in shapes.finditer(text)]


def _found(shapes: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str | None]]:
    return [(m.span(), m.lastgroup) for m in _shape_matches(shapes, text)]


@SETTINGS
@given(texts, st.sets(st.sampled_from(_ALL_SHAPES), min_size=1))
def test_shapes_are_found_as_finditer_finds_them(text: str, names: set[str]) -> None:
    shapes = _compiled_shapes(tuple(name for name in _ALL_SHAPES if name in names))

    assert _found(shapes, text) == _reference(shapes, text)


def test_shapes_on_the_corpus_texts_are_found_as_finditer_finds_them() -> None:
    every = _compiled_shapes(_ALL_SHAPES)
    singles = [_compiled_shapes((name,)) for name in _ALL_SHAPES]
    pairs = [_compiled_shapes(pair) for pair in combinations(_ALL_SHAPES, 2)]
    for ticket in load_corpus():
        for text in [ticket.title, ticket.description, *(note.text for note in ticket.notes)]:
            chosen = _shapes(text, text.lower(), any(c.isdigit() for c in text))
            for shapes in [every, *singles, *pairs, *([chosen] if chosen else [])]:
                assert _found(shapes, text) == _reference(shapes, text)
