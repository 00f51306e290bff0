"""`CleanText.identity` leaves its map to be made when first read; it reads, maps and cuts as
the eager form it replaced (kept here, built as `CleanText` itself builds a map) does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.clean import CleanText, clean_text
from tests.extract.test_cleaning_speed_html import _real_texts, _state


def old_identity(text: str) -> CleanText:
    return CleanText(text, [(0, 0, len(text), True)] if text else [], len(text))


def _same(text: str, cuts: list[tuple[int, int]]) -> None:
    lazy, eager = CleanText.identity(text), old_identity(text)
    for start in range(0, len(text) + 1, max(1, len(text) // 7)):
        for end in (start, min(len(text), start + 3), len(text)):
            assert lazy.original_span(start, end) == eager.original_span(start, end)
    assert _state(lazy.without(cuts)) == _state(eager.without(cuts))
    assert (lazy._run_at(len(text) - 1) == eager._run_at(len(text) - 1)) if text else True
    assert _state(lazy) == _state(eager)
    assert lazy._keys == eager._keys


def test_real_texts_map_as_before() -> None:
    for text in _real_texts():
        _same(text, [(1, 4), (len(text) // 2, len(text) // 2 + 2)])
        assert _state(clean_text(text)) == _state(clean_text(text))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(max_size=40),
       st.lists(st.tuples(st.integers(0, 45), st.integers(0, 45)), max_size=4))
def test_generated_texts_map_and_cut_as_before(text: str, cuts: list[tuple[int, int]]) -> None:
    _same(text, [(min(a, b), max(a, b)) for a, b in cuts])
