"""The opener search (`email_noise._OPENER`) is an alternation nested by shared first
characters; it finds, line by line, what the flat alternation it replaced (kept here) found:
on the real texts, on generated ones, and on each opener with what may follow it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract import email_noise
from tests.extract.test_cleaning_speed_noise import _real_texts

_OLD = "[ \t]*+(" + "|".join(map(re.escape, email_noise._OPENER_BITS)) + ")"
OLD_FIRST, OLD_NEXT = re.compile(_OLD), re.compile("\n" + _OLD)


def _found(text: str) -> tuple[object, list[str]]:
    first = email_noise._OPENER_FIRST.match(text)
    return (None if first is None else first.group(1)), email_noise._OPENER_NEXT.findall(text)


def _old_found(text: str) -> tuple[object, list[str]]:
    first = OLD_FIRST.match(text)
    return (None if first is None else first.group(1)), OLD_NEXT.findall(text)


def test_real_texts_open_as_before() -> None:
    texts = [text.lower() for text in _real_texts()]
    assert sum(bool(_old_found(text)[1]) for text in texts) > 100
    for text in texts:
        assert _found(text) == _old_found(text)


@pytest.mark.parametrize("opener", list(email_noise._OPENER_BITS))
def test_each_opener_and_its_cut_forms_open_as_before(opener: str) -> None:
    for end in range(len(opener) + 1):
        for tail in ("", "x", " ", "\n", ":"):
            text = opener[:end] + tail
            assert _found(text) == _old_found(text)
            assert _found("a\n \t" + text) == _old_found("a\n \t" + text)


_PIECES = [*email_noise._OPENER_BITS, "\n", " ", "\t", "x", "t", "th", "no", "re", "b", "-"]


@settings(max_examples=800, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_PIECES), max_size=25).map("".join))
def test_generated_texts_open_as_before(text: str) -> None:
    assert _found(text) == _old_found(text)
