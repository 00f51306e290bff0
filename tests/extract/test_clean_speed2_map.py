"""`_Builder.take` appends one slice per range, and `_squeeze_spans` skips short runs of line
breaks in C: the maps and spans are those of the forms they replaced.

`take` appended the piece of every run the range covers; here `CleanText._keeping` through it is
compared, text and runs, with the loop as it was (`_take_before`), on the unsqueezed text of
HTML notes with generated and real ranges. `_squeeze_spans` is compared with the whole-text
scan `_SQUEEZE.finditer` on generated texts rich in runs of whitespace and on the real ones.
"""

from __future__ import annotations

from bisect import bisect_right

from hypothesis import given, settings
from hypothesis import strategies as st

from extract import clean
from extract.clean import CleanText
from tests.extract.test_cleaning_speed_html import _HTML_TEXTS, _real_texts, _state

_SETTINGS = settings(max_examples=1500, deadline=None, derandomize=True)


def _take_before(builder: clean._Builder, source: CleanText, start: int, end: int) -> None:
    """`_Builder.take` as it was: a piece of text per run."""
    keys, runs, text = source._keys, source._runs, source.text
    position = bisect_right(keys, start) - 1
    last = len(keys) - 1
    while start < end:
        clean_start, orig_start, _, copy = runs[position]
        stop = keys[position + 1] if position < last else len(text)
        stop = min(stop, end)
        if copy:
            offset = orig_start + (start - clean_start)
            builder.copy(text[start:stop], offset, offset + (stop - start))
        else:
            builder.replace(text[start:stop], orig_start, runs[position][2])
        start = stop
        position += 1


def _keeping_before(source: CleanText, keep: list[tuple[int, int]]) -> CleanText:
    if not source.text or keep == [(0, len(source.text))]:
        return source
    builder = clean._Builder()
    for start, end in keep:
        _take_before(builder, source, start, end)
    return builder.build(source.original_length)


def _ranges(length: int, cuts: list[int]) -> list[tuple[int, int]]:
    """Sorted, non-empty, apart ranges of [0, length) from cut points (every other gap)."""
    points = sorted({0, length, *(cut % (length + 1) for cut in cuts)})
    return [(a, b) for a, b in zip(points[::2], points[1::2], strict=False) if a < b]


@_SETTINGS
@given(_HTML_TEXTS, st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_keeping_is_the_run_by_run_take(text: str, cuts: list[int]) -> None:
    source = clean._html_pieces(text)
    keep = _ranges(len(source.text), cuts)
    if keep or not source.text:
        assert _state(source._keeping(keep)) == _state(_keeping_before(source, keep))


def test_real_html_notes_keep_as_in_the_run_by_run_take() -> None:
    for text in filter(clean.looks_like_html, _real_texts()):
        source = clean._html_pieces(text)
        length = len(source.text)
        keeps = [clean._cut([(0, length)], clean._squeeze_spans(source.text)),
                 _ranges(length, list(range(0, length, 7))),
                 _ranges(length, list(range(3, length, 41)))]
        for keep in filter(None, keeps):
            assert _state(source._keeping(keep)) == _state(_keeping_before(source, keep)), text


_SPACE_FRAGMENTS = [" ", "  ", "\t", "\n", "\n", "\n\n", "\n\n\n", "\n\n\n\n", "\r", "\r\n",
                    "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "a", "b", "é",
                    "- ", " \n", "\n "]


@_SETTINGS
@given(st.lists(st.sampled_from(_SPACE_FRAGMENTS), max_size=50).map("".join))
def test_squeezed_spans_are_those_of_the_whole_text_scan(text: str) -> None:
    assert clean._squeeze_spans(text) == [m.span() for m in clean._SQUEEZE.finditer(text)]


def test_squeezed_spans_of_the_real_texts_are_those_of_the_whole_text_scan() -> None:
    for text in _real_texts():
        for variant in (text, clean._html_pieces(text).text):
            assert (clean._squeeze_spans(variant)
                    == [m.span() for m in clean._SQUEEZE.finditer(variant)]), variant
