"""The speed work on cleaning changes nothing it cleans.

Two patterns of `extract.clean` were rewritten to start with one character class, which the regex
engine skips to in C (see the comments there), and one was replaced by str.strip (`_edges`). Here
each is compared, match by match, with the pattern as it read before, on generated texts made of
the characters and fragments they look at.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from extract import clean

_HTML_TOKEN_BEFORE = re.compile(
    r"(?P<comment><!--.*?(?:-->|\Z))"
    r"|(?P<decl><![^<>]*>|<\?[^<>]*>)"
    r"|(?P<tag></?(?P<name>[a-zA-Z][a-zA-Z0-9:-]*)(?=[\s/>])[^<>]*>)"
    r"|(?P<entity>&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?)"
    r"|(?P<space>[ ]\s+|[^\S ]\s*)",
    re.DOTALL,
)
_SQUEEZE_BEFORE = re.compile(
    r"(?<![ \t])[ \t]++(?=\n)|(?<=\n)[ \t]+|(?<=\n\n)\n+|\A\s+|(?<!\s)\s++\Z")

_HTML_FRAGMENTS = ["<", ">", "&", "!--", "-->", "<!", "<?", "/", "p", "br", "div", "a", "o:p",
                   " ", "  ", "\n", "\t", "\r", "\xa0", "#", "x", "1", "A", ";", "amp", "nbsp",
                   "=", '"', "<style>", "</style>", "é"]
_SPACE_FRAGMENTS = [" ", "\t", "\n", "\r", "\x0b", "\xa0", "a", "b", "é"]
_SETTINGS = settings(max_examples=500, deadline=None, derandomize=True)


def _tokens(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str | None,
                                                                  str | None]]:
    return [(m.span(), m.lastgroup, m.group("name")) for m in pattern.finditer(text)]


@_SETTINGS
@given(st.lists(st.sampled_from(_HTML_FRAGMENTS), max_size=40).map("".join),
       st.integers(min_value=0, max_value=40))
def test_html_tokens_are_those_of_the_pattern_before(text: str, start: int) -> None:
    assert _tokens(clean._HTML_TOKEN, text) == _tokens(_HTML_TOKEN_BEFORE, text)
    now, before = clean._HTML_TOKEN.search(text, start), _HTML_TOKEN_BEFORE.search(text, start)
    assert (now and (now.span(), now.lastgroup)) == (before and (before.span(), before.lastgroup))


@_SETTINGS
@given(st.lists(st.sampled_from(_SPACE_FRAGMENTS), max_size=40).map("".join))
def test_squeezed_spans_are_those_of_the_pattern_before(text: str) -> None:
    assert ([m.span() for m in clean._SQUEEZE.finditer(text)]
            == [m.span() for m in _SQUEEZE_BEFORE.finditer(text)])


_EDGES_BEFORE = re.compile(r"\A\s+|(?<!\s)\s++\Z")


@_SETTINGS
@given(st.lists(st.sampled_from([*_SPACE_FRAGMENTS, "\x1c", "\u2003", "\u3000"]),
                max_size=20).map("".join))
def test_edges_are_those_of_the_pattern_before(text: str) -> None:
    assert clean._edges(text) == [m.span() for m in _EDGES_BEFORE.finditer(text)]
