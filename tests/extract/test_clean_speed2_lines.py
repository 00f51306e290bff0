"""`noise_ranges` tries each line pattern only at the lines that open with one of its openers.

`_line_spans` took every line break of the text in turn (a search for a line break with the
pattern in a look-ahead, `_after_line_breaks`); it now matches at the starts of the lines
`_opening_lines` lists for the pattern, or at the one line of a text without a line break.
Here the spans are compared with the pattern's own finditer and with that search, on generated
texts (the fragments of the opener-gate tests) and on the real ones.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract import email_noise
from tests.extract.test_cleaning_speed_noise import _FRAGMENTS, _real_texts

_TEXTS = st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join)
_SETTINGS = settings(max_examples=1000, deadline=None, derandomize=True)


def _line_spans_before(pattern: re.Pattern[str], text: str, stop: int) -> list[tuple[int, int]]:
    """`_line_spans` as it was: from line break to line break, the pattern looking ahead."""
    after = email_noise._after_line_breaks(pattern)
    spans: list[tuple[int, int]] = []
    position = 0
    first = pattern.match(text, 0, stop)
    if first is not None:
        spans.append(first.span())
        position = first.end() - 1
    while (match := after.search(text, position, stop)) is not None:
        span = match.span(1)
        spans.append(span)
        position = max(span[1] - 1, match.end())
    return spans


def _folded(text: str) -> str:
    return text.translate(email_noise._FOLD).lower()


def _assert_line_spans_as_before(text: str, stop: int) -> None:
    lines = email_noise._opening_lines(_folded(text))
    for pattern, _, _, bit in email_noise._LINE_RULES:
        starts = [start for start, bits in lines if bits & bit]
        spans = email_noise._line_spans(pattern, text, stop, starts)
        assert spans == _line_spans_before(pattern, text, stop), (pattern.pattern, text, stop)
        assert spans == [match.span() for match in pattern.finditer(text, 0, stop)]


@_SETTINGS
@given(_TEXTS, st.integers(min_value=0, max_value=400))
def test_line_spans_at_the_opening_lines_are_those_of_every_line(text: str, stop: int) -> None:
    _assert_line_spans_as_before(text, min(stop, len(text)))


def test_line_spans_of_the_real_texts_are_those_of_every_line() -> None:
    for text in _real_texts():
        _assert_line_spans_as_before(text, len(text))
        _assert_line_spans_as_before(text, len(text) // 2)


def _every_line(pattern: re.Pattern[str], text: str, stop: int,
                _starts: list[int]) -> list[tuple[int, int]]:
    return _line_spans_before(pattern, text, stop)


@_SETTINGS
@given(_TEXTS)
def test_noise_ranges_are_those_found_at_every_line(text: str) -> None:
    found = email_noise.noise_ranges(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(email_noise, "_line_spans", _every_line)
        assert found == email_noise.noise_ranges(text)


def test_noise_ranges_of_the_real_texts_are_those_found_at_every_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _real_texts()
    found = [email_noise.noise_ranges(text) for text in texts]
    assert sum(map(bool, found)) > 100
    monkeypatch.setattr(email_noise, "_line_spans", _every_line)
    assert found == [email_noise.noise_ranges(text) for text in texts]
